"""Norwegian word lists shared by cleaning, sentence splitting and follow-up resolution."""

from __future__ import annotations

# Abbreviations whose full stop does not end a sentence ("kl. 10", "fig. 3", "bl.a. at",
# "Meld. St. 9"), written without their final stop. One list for cleaning and splitting, so a
# line ending in "kl." is joined by the cleaner and kept whole by the splitter alike.
ABBREVIATIONS = frozenset(
    """adm ang avd bl.a ca dir div dok dr dvs el etc ev evt f.eks fig hhv ift iht inkl innst jf
    jfr kap kl kr m.fl m.m meld mht mill mnd mrd mv nok nr nt o.l osv ph.d pr prof prop pst ref s
    st tlf vs
    jan feb mar apr jun jul aug sep sept okt nov des""".split()
)

MONTHS = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)
MONTH_ABBREVIATIONS = (
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "okt",
    "nov",
    "des",
)

# Words that cannot end a sentence: after them the sentence goes on even when the next line
# starts with a capital ("ved\nSt. Olavs hospital", "i\nMidt-Norge").
FUNCTION_WORDS = frozenset(
    """av at de den det eller en enn et etter for fra hos i med mellom mot og om på som til
    under ved""".split()
)

# Words of a question that say how it asks, not what it asks about.
QUESTION_WORDS = frozenset(
    """hva hvem hvor hvilke hvilken hvilket når hvordan hvorfor mange mye med om og i er var
    enn men""".split()
)
# Words that point back to an earlier turn.
PRONOUNS = frozenset("det den de dette disse dem der dit her slik samme".split())
# Of these, the ones that are never an article ("det nye vannverket"): they always point back.
POINTING_BACK = frozenset("dette disse dem der dit slik samme".split())
# Words that refer back to an earlier turn in a question that names a few things of its own
# ("Hvor stor andel av dem jobbet i kommunene?", "Er innbyggerne mer positive til dette?"):
# the words above, plus "her", "da", "sånn" and the comparisons "derimot", "til sammenligning".
BACK_REFERENCES = POINTING_BACK | frozenset("her da sånn derimot sammenligning".split())
# Openings of a follow-up question ("Og i 2023?", "Hva med legene?").
FOLLOWUP_OPENERS = (
    "og ",
    "men ",
    "hva med",
    "hva om",
    "enn ",
    "samme ",
    "også ",
    "hvordan med",
    "i ",
)
# Years named relative to the year of the previous question ("Og året før?"), with the
# offset from that year. Longer phrases first: the first that matches wins.
RELATIVE_YEARS: tuple[tuple[str, int], ...] = (
    (r"to år (?:før|tidligere|i forveien)", -2),
    (r"tre år (?:før|tidligere|i forveien)", -3),
    (r"to år (?:etter|senere|seinere)", 2),
    (r"tre år (?:etter|senere|seinere)", 3),
    (r"året (?:før|i forveien|forut)", -1),
    (r"(?:det )?foregående (?:år|året)", -1),
    (r"(?:det )?forrige (?:år|året)", -1),
    (r"(?:et|ett) år (?:før|tidligere)", -1),
    (r"året (?:etter|deretter)", 1),
    (r"(?:det )?påfølgende (?:år|året)", 1),
    (r"(?:det )?neste (?:år|året)", 1),
    (r"(?:et|ett) år (?:etter|senere|seinere)", 1),
    (r"samme år(?:et)?", 0),
)
# Words that stand for "the figure just asked about" and name nothing of their own
# ("Hva var tallet året før?"): a question made of these and question words is a follow-up.
REFERRING_WORDS = frozenset(
    """tallet tallene andelen antallet beløpet summen prosenten prosentandelen nivået
    resultatet utviklingen endringen situasjonen tilsvarende året år før etter da""".split()
)

# Words that show a question is Norwegian (bokmål or nynorsk), whatever it asks about.
NORWEGIAN_MARKERS = frozenset(
    """hva hvem hvor hvilke hvilken hvilket hvordan hvorfor når kor kva kven korleis kvifor
    kvar er var har hadde blir ble vil skal kan kunne må bør og eller ikke ikkje det den de
    dei en ei et eit som til fra frå med om på av ved etter før hos mellom mot seg sin sitt
    sine hans hennes deres vår våre oss meg jeg eg du dere mye mange mykje noen nokre noe
    noko alle andre år året årene kostnad kostnader pris prosent antall kommune kommunene
    sykehus sjukehus""".split()
)
# English words that also stand in Norwegian documents (titles, references): they must not
# make an English question look like one about the documents.
ENGLISH_WORDS = frozenset(
    """a an the is are was were be been being do does did what which who whom whose when
    where why how much many of in on at to from by with about for and or not no yes it its
    this that these those there their they we you i he she his her our your can could would
    should will shall may might must has have had if than then so as into out up down over
    all any some such only own same other new old""".split()
)
