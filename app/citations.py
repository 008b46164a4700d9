"""Citations: a quote, where it stands, and a reference string for a briefing note.

A citation is only ever built from the page text stored in the index, and ``verify`` checks
again, just before it is shown, that its quote stands verbatim (whitespace aside) on that page.
"""

from __future__ import annotations

import re

from kilde.ingest.chunk import nearest_heading
from kilde.types import Chunk, Citation, DocInfo

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    return _WS.sub(" ", text).strip()


def verify(citation: Citation, page_text: str | None) -> bool:
    """True when the quote stands verbatim, whitespace aside, in ``page_text``."""
    if not page_text or not citation.quote.strip():
        return False
    return squash(citation.quote) in squash(page_text)


def reference(
    doc: DocInfo | None,
    chunk: Chunk,
    line_span: tuple[int, int] | None = None,
    heading: str | None = None,
) -> str:
    """``Utgiver (år): Tittel, s. 14.`` or, for a text without pages, lines and heading."""
    title = (doc.title if doc else chunk.title).rstrip(". ")
    publisher = doc.publisher if doc else None
    year = doc.year if doc else None
    head = title
    if publisher:
        head = f"{publisher} ({year}): {title}" if year else f"{publisher}: {title}"
    elif year:
        head = f"{title} ({year})"
    if chunk.page is not None:
        return f"{head}, s. {chunk.page_label or chunk.page}."
    lines = line_span or (chunk.line_start, chunk.line_end)
    where = ""
    if lines[0]:
        where = f", linje {lines[0]}" if lines[0] == lines[1] else f", linje {lines[0]}–{lines[1]}"
    if heading:
        where += f" (under «{heading}»)"
    return f"{head}{where}."


def make_citation(
    doc: DocInfo | None, chunk: Chunk, page_text: str, start: int, end: int
) -> Citation:
    """A citation of ``page_text[start:end]`` (offsets in the page), which lies in ``chunk``."""
    quote = squash(page_text[start:end])
    line_span = None
    heading = None
    if chunk.page is None:
        first = page_text.count("\n", 0, start) + 1
        line_span = (first, first + page_text.count("\n", start, max(start, end - 1)))
        heading = nearest_heading(page_text, start)
    return Citation(
        file=chunk.file,
        title=doc.title if doc else chunk.title,
        page=chunk.page,
        page_label=chunk.page_label,
        quote=quote,
        reference=reference(doc, chunk, line_span, heading),
        line_start=line_span[0] if line_span else None,
        line_end=line_span[1] if line_span else None,
        heading=heading,
        ocr=chunk.ocr,
    )
