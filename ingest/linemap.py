"""Cleaned-text offsets back to the lines of the source file, as an editor numbers them.

Cleaning reflows paragraphs, so a line of cleaned text is not a line of the file. The map
that ``clean_text_mapped`` builds holds, for each source line kept, the offset in the cleaned
text where that line's words start; a character belongs to the last line starting at or
before it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

LineMap = Sequence[Sequence[int]]  # ((offset, line), ...) sorted by offset


def source_lines(line_map: LineMap, start: int, end: int) -> tuple[int, int] | None:
    """1-based inclusive source lines holding ``text[start:end]``; None without a map."""
    if not line_map:
        return None
    offsets = [pair[0] for pair in line_map]
    first = bisect.bisect_right(offsets, start) - 1
    last = bisect.bisect_right(offsets, max(start, end - 1)) - 1
    return line_map[max(first, 0)][1], line_map[max(last, 0)][1]


def quote_in_lines(quote: str, lines: Sequence[str]) -> bool:
    """Whether ``quote`` stands within ``lines`` (file lines as an editor shows them), modulo
    whitespace, words hyphenated at a line end ("sam-" / "handling" for "samhandling") and the
    lines cleaning drops (bare links)."""
    from .clean import kept_line, normalise_chars  # clean imports nothing from here

    wanted = "".join(normalise_chars(quote).split())
    if not wanted:
        return False
    block = "\n".join(kept_line(line) for line in normalise_chars("\n".join(lines)).split("\n"))
    if wanted in "".join(block.split()):
        return True
    if "-\n" not in block.replace(" ", ""):
        return False
    gap = r"(?:-[ ]*\n\s*|\s*)"  # whitespace, or a hyphen that ends a line
    pattern = gap.join(re.escape(ch) for ch in wanted)
    return re.search(pattern, block) is not None


def decode_file_lines(data: bytes) -> list[str]:
    """The lines of a text file as an editor numbers them, decoded as ingest decodes it."""
    from .readers import decode_text

    return decode_text(data).replace("\r\n", "\n").replace("\r", "\n").split("\n")
