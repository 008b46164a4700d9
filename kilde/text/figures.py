"""Figures in Norwegian text, normalised so that they can be compared exactly.

A figure is a number (``39 200`` with a space or a no-break space, ``14,2 milliarder``,
``2140 mill.``), a percentage (``7,8 %``, ``71 prosent``), a year (``2022``) or a date
(``12. november 2022``, ``12.11.2022``, ``12. nov. 2022``, ``november 2022``). Two figures are
the same when their normalised values are equal; "close" never counts as equal, because a
briefing note that says 39 000 where the source says 39 200 must be told so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .lexicon import MONTH_ABBREVIATIONS, MONTHS

_MONTH_NUMBER = {name: i for i, name in enumerate(MONTHS, start=1)}
_MONTH_NUMBER.update(
    {
        abbr: MONTHS.index(next(m for m in MONTHS if m.startswith(abbr[:3]))) + 1
        for abbr in MONTH_ABBREVIATIONS
    }
)
_MONTH_WORD = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))

# Number words that stand for small counts ("sju kommuner", "de ni sykehusene"). "en/ett" are
# left out: they are articles far more often than counts.
NUMBER_WORDS = {
    "to": 2,
    "tre": 3,
    "fire": 4,
    "fem": 5,
    "seks": 6,
    "sju": 7,
    "syv": 7,
    "åtte": 8,
    "ni": 9,
    "ti": 10,
    "elleve": 11,
    "tolv": 12,
}
# Scale words after a number: "14,2 milliarder", "2140 mill.", "3,7MRD", "500 mNOK".
_SCALES = {
    "tusen": Decimal(1000),
    "mill": Decimal(10) ** 6,
    "million": Decimal(10) ** 6,
    "millioner": Decimal(10) ** 6,
    "mnok": Decimal(10) ** 6,
    "mrd": Decimal(10) ** 9,
    "milliard": Decimal(10) ** 9,
    "milliarder": Decimal(10) ** 9,
}
_SCALE_WORD = "|".join(sorted(_SCALES, key=len, reverse=True))

_SPACE = r"[ \u00a0\u202f]"  # a space, a no-break space or a narrow no-break space
_DATE_NUMERIC = re.compile(r"(?<![\d.,])(\d{1,2})\.(\d{1,2})\.((?:19|20)\d\d)(?!\d)")
_DATE_WORDS = re.compile(
    rf"(?<![\wæøå,])(?:(\d{{1,2}})\.{_SPACE}*)?({_MONTH_WORD})\.?(?:{_SPACE}+((?:19|20)\d\d)(?!\d))?"
    rf"(?![\wæøå])",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    rf"(?<![\d,])(\d{{1,3}}(?:{_SPACE}\d{{3}})+|\d+)(?:,(\d+))?(?![\d])"
    rf"(?:{_SPACE}*(%|prosent\b|({_SCALE_WORD})\.?(?![a-zæøå])))?",
    re.IGNORECASE,
)
_NUMBER_WORD = re.compile(
    r"(?<![\wæøå-])(" + "|".join(NUMBER_WORDS) + r")(?![\wæøå-])", re.IGNORECASE
)


@dataclass(frozen=True)
class Figure:
    """One figure: ``text`` as written, ``start``/``end`` in the text, and what it means.

    ``kind`` is ``number``, ``year``, ``percent`` or ``date``. ``value`` is the normalised
    value: a Decimal for numbers and percentages (scale words applied), an int for a year,
    and (day, month, year) for a date, any part of which may be None.
    """

    text: str
    start: int
    end: int
    kind: str
    value: object


def _decimal(whole: str, fraction: str | None) -> Decimal:
    digits = re.sub(r"\D", "", whole)
    try:
        return Decimal(f"{digits}.{fraction}" if fraction else digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        return Decimal(0)


def extract_figures(text: str) -> list[Figure]:
    """Every figure in ``text``, in order; a date's day and year are not counted again."""
    found: list[Figure] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    def add(figure: Figure) -> None:
        found.append(figure)
        taken.append((figure.start, figure.end))

    for m in _DATE_NUMERIC.finditer(text):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= day <= 31 and 1 <= month <= 12:
            add(Figure(m.group(0), m.start(), m.end(), "date", (day, month, year)))
    for m in _DATE_WORDS.finditer(text):
        if not free(m.start(), m.end()):
            continue
        day = int(m.group(1)) if m.group(1) else None
        year = int(m.group(3)) if m.group(3) else None
        if day is None and year is None:
            continue  # a bare month name ("i mai") is not a figure
        if day is not None and not 1 <= day <= 31:
            continue
        month = _MONTH_NUMBER[m.group(2).lower()]
        end = m.end()
        if year is None and m.group(2).lower() in MONTHS and text[end - 1] == ".":
            end -= 1  # "12. oktober." ends a sentence; only "12. okt." abbreviates
        # "mai" and "mars" are ordinary words too; with a day or a year they are months.
        add(Figure(text[m.start() : end].strip(), m.start(), end, "date", (day, month, year)))
    for m in _NUMBER.finditer(text):
        if not free(m.start(), m.end()):
            continue
        whole, fraction, unit, scale = m.group(1), m.group(2), m.group(3), m.group(4)
        value = _decimal(whole, fraction)
        written = m.group(0).strip()
        if unit and unit[0] in "%pP":
            add(Figure(written, m.start(), m.end(), "percent", value))
        elif scale:
            add(Figure(written, m.start(), m.end(), "number", value * _SCALES[scale.lower()]))
        elif not fraction and len(whole) == 4 and whole[:2] in ("19", "20"):
            add(Figure(written, m.start(), m.end(), "year", int(whole)))
        else:
            add(Figure(written, m.start(), m.end(), "number", value))
    for m in _NUMBER_WORD.finditer(text):
        if free(m.start(), m.end()):
            add(
                Figure(
                    m.group(0),
                    m.start(),
                    m.end(),
                    "number",
                    Decimal(NUMBER_WORDS[m.group(1).lower()]),
                )
            )
    found.sort(key=lambda f: f.start)
    return found


def _years(figures: list[Figure]) -> set[int]:
    out = {f.value for f in figures if f.kind == "year"}
    out |= {f.value[2] for f in figures if f.kind == "date" and f.value[2] is not None}
    return out  # type: ignore[return-value]


def same_figure(claim: Figure, source: Figure, context: list[Figure] | None = None) -> bool:
    """Whether ``source`` states ``claim``'s figure. A date in the claim is stated by a date
    in the source with the same day and month where both give them and the same year; a
    source date without its year ("9. november samme år") takes a year standing elsewhere in
    the same source sentence (``context``). A year is stated by a date in that year."""
    if claim.kind == "date":
        if source.kind != "date":
            return False
        cday, cmonth, cyear = claim.value  # type: ignore[misc]
        sday, smonth, syear = source.value  # type: ignore[misc]
        if cmonth != smonth or (cday is not None and sday is not None and cday != sday):
            return False
        if cday is not None and sday is None:
            return False  # the source does not give the day the claim states
        if cyear is None:
            return True
        if syear is not None:
            return cyear == syear
        return cyear in _years(context or [])
    if claim.kind == "year":
        if source.kind == "year" or (source.kind == "number" and source.value == claim.value):
            return source.value == claim.value
        return source.kind == "date" and source.value[2] == claim.value  # type: ignore[index]
    if claim.kind == "percent":
        return source.kind == "percent" and source.value == claim.value
    if source.kind == "year":
        return claim.value == source.value
    return source.kind == "number" and source.value == claim.value


def comparable(claim: Figure, source: Figure) -> bool:
    """Whether ``source`` is the kind of figure ``claim`` could have been copied from wrongly:
    a date for a date, a year for a year, a percentage for a percentage, a number for a
    number (scale aside: "14,2 milliarder" against "14,2 millioner" differs in value)."""
    if claim.kind in ("date", "percent", "year"):
        return source.kind == claim.kind
    return source.kind == "number"


def compare_figures(
    claim: list[Figure],
    source: list[Figure],
    claim_text: str = "",
    source_text: str = "",
) -> tuple[list[Figure], list[tuple[Figure, Figure]]]:
    """The claim's figures the source lacks, and, of those, each paired with the source
    figure it most likely stands for: one of the same kind the claim does not match, with the
    most words around it in common with the claim figure's (the first one on a tie)."""
    missing = [c for c in claim if not any(same_figure(c, s, source) for s in source)]
    unclaimed = [s for s in source if not any(same_figure(c, s, source) for c in claim)]
    pairs: list[tuple[Figure, Figure]] = []
    for figure in missing:
        options = [s for s in unclaimed if comparable(figure, s)]
        if not options:
            continue
        near = _neighbours(claim_text, figure)
        match = max(
            options,
            key=lambda s: (
                _shared_parts(figure, s),
                len(near & _neighbours(source_text, s)),
                _shared_prefix(figure, s),
            ),
        )
        pairs.append((figure, match))
        unclaimed.remove(match)
    return missing, pairs


_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]{3,}")


def _shared_parts(claim: Figure, source: Figure) -> int:
    """How many of day, month and year two dates share (27. april 2023 is nearer to
    27. april 2024 than to 12. november 2022); 0 for other figures."""
    if claim.kind != "date" or source.kind != "date":
        return 0
    pairs = zip(claim.value, source.value, strict=True)  # type: ignore[call-overload]
    return sum(1 for a, b in pairs if a is not None and a == b)


def _shared_prefix(claim: Figure, source: Figure) -> int:
    """Leading digits two numbers share (6,2 against 6,5 rather than 7,8)."""
    a, b = re.sub(r"\D", "", claim.text), re.sub(r"\D", "", source.text)
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _neighbours(text: str, figure: Figure, width: int = 4) -> set[str]:
    """Lower-cased words just before and after ``figure`` in ``text``."""
    if not text:
        return set()
    before = _WORD.findall(text[: figure.start])[-width:]
    after = _WORD.findall(text[figure.end :])[:width]
    return {w.lower()[:6] for w in before + after}


def without_figures(text: str) -> str:
    """``text`` with its figures blanked out, for comparing the words around them."""
    figures = extract_figures(text)
    out, at = [], 0
    for f in figures:
        out.append(text[at : f.start])
        out.append(" ")
        at = f.end
    out.append(text[at:])
    return "".join(out)
