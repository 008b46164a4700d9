"""Norwegian-aware sentence spans with character offsets.

Table rows and bullet lines count as sentences of their own. A full stop after a common
Norwegian abbreviation ("pr.", "f.eks.", "jf.") or after an ordinal in a date ("12. november")
does not end a sentence.
"""

from __future__ import annotations

import re

from .headings import is_heading
from .lexicon import ABBREVIATIONS, MONTH_ABBREVIATIONS, MONTHS

_MONTHS = "|".join(MONTHS + MONTH_ABBREVIATIONS)
# A footnote number after the full stop of a word or a year ("i Midt-Norge.52 Målet er",
# "i 2024.53 Dette") ends the sentence too, but stays out of it.
_END = re.compile(
    r"[.!?:]+[»”\")]*(?:(?:(?<=[^\W\d_][.!?])|(?<=\b(?:19|20)\d\d\.))(?P<note>\d{1,3}))?(?=\s)"
)
_ORDINAL_DATE = re.compile(rf"\d{{1,2}}\.\s+(?:{_MONTHS})", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[•\-–*]|\d+[.)]\s)")
MIN_CHARS = 12


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences in ``text``, stripped of surrounding space."""
    spans: list[tuple[int, int]] = []
    for line_start, line_end in _blocks(text):
        block = text[line_start:line_end]
        if _is_heading_block(text, line_start, line_end):
            continue  # a heading names a section; it is no claim to quote
        cursor = 0
        for match in _END.finditer(block):
            stop = match.end()
            if not _ends_sentence(block, match.start(), stop):
                continue
            note = len(match.group("note") or "")
            spans.append((line_start + cursor, line_start + stop - note))
            cursor = stop
        spans.append((line_start + cursor, line_end))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[1] - s[0] >= MIN_CHARS]


def _is_heading_block(text: str, start: int, end: int) -> bool:
    block = text[start:end].strip()
    if not block or "\n" in block:
        return False
    before = text[:start].rstrip(" ")
    alone = not before.strip() or before.endswith("\n\n")
    following = text[end:].strip().split("\n", 1)[0]
    return is_heading(block, alone, following)


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraphs; inside a paragraph, bullet and table lines become blocks of their own."""
    blocks: list[tuple[int, int]] = []
    start = 0
    lines = text.split("\n")
    pos = 0
    for i, line in enumerate(lines):
        line_end = pos + len(line)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        breaks_here = (
            not line.strip()
            or not nxt.strip()
            or _BULLET.match(nxt) is not None
            or _BULLET.match(line) is not None
            or _looks_tabular(line)
            or _looks_tabular(nxt)
        )
        if breaks_here:
            if line.strip() or start < pos:
                blocks.append((start, line_end))
            start = line_end + 1
        pos = line_end + 1
    if start < len(text):
        blocks.append((start, len(text)))
    return blocks


def _looks_tabular(line: str) -> bool:
    """Short lines and lines dominated by figures read as table rows, not prose."""
    stripped = line.strip()
    if not stripped:
        return False
    digits = sum(ch.isdigit() for ch in stripped)
    return len(stripped) < 40 or digits / len(stripped) > 0.25


def _ends_sentence(block: str, dot: int, stop: int) -> bool:
    if block[dot] == ":":
        return False  # a colon introduces; it rarely ends a citable claim
    if block[dot] == "." and block[dot:stop].count(".") == 1:
        word = re.search(r"([\w.]+)$", block[:dot])
        token = word.group(1).lower() if word else ""
        if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return False
        if _ORDINAL_DATE.match(block, dot - len(token)) and token.isdigit():
            return False
    rest = block[stop:].lstrip()
    return not rest or not rest[0].islower()


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
