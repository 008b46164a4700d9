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
