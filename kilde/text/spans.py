"""Finding a piece of text again, and naming where it stands.

``locate`` is the one span-locator: chunking maps splitter output back to the page with it,
citations check quotes with it, and the app highlights quotes with it. ``location_label`` is
the one way a place is written: "s. 12" for pages, "linje 40–44" for texts without pages.
"""

from __future__ import annotations

import re

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Whitespace-folded text, for comparisons that ignore layout."""
    return _WS.sub(" ", text).strip()


def locate(text: str, piece: str, cursor: int = 0) -> tuple[int, int] | None:
    """Offsets of ``piece`` in ``text``, at or after ``cursor`` if it stands there, else the
    first occurrence; whitespace differences (line breaks, doubled spaces) are ignored."""
    piece = piece.strip()
    if not piece:
        return None
    at = text.find(piece, cursor)
    if at < 0:
        at = text.find(piece)
    if at >= 0:
        return at, at + len(piece)
    pattern = re.compile(r"\s+".join(re.escape(word) for word in piece.split()))
    match = pattern.search(text, cursor) or pattern.search(text)
    return (match.start(), match.end()) if match else None


def location_label(
    page: int | None,
    page_label: str | None = None,
    line_start: int | None = None,
    line_end: int | None = None,
) -> str:
    """``s. 14`` (the printed label where there is one), ``linje 12–14``, ``linje 5``, or
    "" when a text without pages has no line numbers."""
    if page is not None:
        return f"s. {page_label or page}"
    if not line_start:
        return ""
    if not line_end or line_end == line_start:
        return f"linje {line_start}"
    return f"linje {line_start}–{line_end}"
