"""What a Norwegian question asks for, and what a sentence holds: the patterns answerers
score with ("Hvor mange ..." wants a figure; "Med dette mener vi ..." is a definition)."""

from __future__ import annotations

import re

from .lexicon import RELATIVE_YEARS

_NUMBER_Q = re.compile(
    r"\b(hvor (mange|mye|stor|store|høy|høye|lang|lenge|langt)|andel\w*|prosent\w*|antall"
    r"|kostet|koste|kostnad\w*|beløp|tall|skår\w*|nivå)\b",
    re.IGNORECASE,
)
_DATE_Q = re.compile(r"\b(når|hvilket år|hvilken dato|dato|tidspunkt)\b", re.IGNORECASE)
_DEFINITION_Q = re.compile(
    r"\bhva (menes|mener\b.*\bmed|forstås|betyr|innebærer|regnes som|vil det si)", re.IGNORECASE
)
_ENTITY_Q = re.compile(r"\b(hvem|hvilke[nt]?|hva heter)\b", re.IGNORECASE)
# A question that opens with its own question word ("Hvorfor ble det lagt ned?") says what it
# wants itself, even when it leans on an earlier one for its subject.
ASKS = re.compile(r"\s*(hva|hvem|hvor|hvilke[nt]?|når|hvordan|hvorfor)\b", re.IGNORECASE)

FIGURE = re.compile(r"\d")
# "Med dette mener vi ...", "... defineres som ...": the wording of a definition.
DEFINITION = re.compile(
    r"\b(mener vi|menes|defineres|definert som|forstås som|betyr|innebærer|regnes som)\b",
    re.IGNORECASE,
)
DATE = re.compile(
    r"\b(\d{1,2}\.\s*(jan|feb|mar|apr|mai|jun|jul|aug|sep|okt|nov|des)\w*|(19|20)\d\d)\b",
    re.IGNORECASE,
)
# A capitalised word that does not open a sentence: a name.
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÆØÅ][\wæøåÆØÅ.-]+")
# Reference-list lines and links, which answer nothing.
REFERENCE_LINE = re.compile(r"(hentedato|https?://|www\.|<[^>]+>|\bISBN\b)", re.IGNORECASE)
# The opening of a sentence that leans on the one before it.
CONTINUES = re.compile(
    r"(der|dette|disse|denne|derfor|årsaken|med dette|det skyldes|det vil si)\b", re.IGNORECASE
)


def question_kind(question: str) -> str:
    """What shape of fact the question wants: definition, number, date, entity or other."""
    if _DEFINITION_Q.search(question):
        return "definition"
    if _DATE_Q.search(question):
        return "date"
    if _NUMBER_Q.search(question):
        return "number"
    if _ENTITY_Q.search(question):
        return "entity"
    return "other"


YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_RELATIVE = tuple((re.compile(rf"\b{p}\b", re.IGNORECASE), n) for p, n in RELATIVE_YEARS)


def relative_year(text: str) -> tuple[re.Match[str], int] | None:
    """The first phrase of ``text`` that names a year relative to an earlier one
    ("året før" -> -1), with its offset; None when it has none."""
    for pattern, offset in _RELATIVE:
        found = pattern.search(text)
        if found:
            return found, offset
    return None
