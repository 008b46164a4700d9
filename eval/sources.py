"""Where a gold quote stands in a source file: its physical page(s), or its file lines.

Files are read with ingest's own reader and cleaning (``read_source``), so a quote is
looked for in the same text the index holds, whatever the format (PDF, DOCX, TXT, MD).
Matching is that of ``evidence.quote_on_page``: whitespace, case and line-end hyphenation
aside. For a text without page breaks the quote is also placed in the lines of the file as
it lies on disk, which is what a citation's line numbers promise.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from kilde.errors import SkipFile
from kilde.eval.evidence import normalize, quote_on_page
from kilde.ingest.clean import normalise_chars
from kilde.ingest.readers import SourceText, _decode, read_source

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class QuoteLocation:
    """One place a quote stands. Pages are physical and 1-based; ``page_end`` is the next
    page when the quote runs across a page break. Lines are 1-based, inclusive, in the
    file as it lies on disk (text sources without page breaks only)."""

    page: int | None = None
    page_end: int | None = None
    page_label: str | None = None
    line_start: int | None = None
    line_end: int | None = None

    def describe(self) -> str:
        """``p. 3 (printed iii)``, ``p. 3–4`` or ``lines 10–12``, for reports."""
        if self.page is not None:
            where = f"p. {self.page}" + (f"–{self.page_end}" if self.page_end != self.page else "")
            if self.page_label and self.page_label != str(self.page):
                where += f" (printed {self.page_label})"
            return where
        if self.line_start is not None:
            if self.line_start == self.line_end:
                return f"line {self.line_start}"
            return f"lines {self.line_start}–{self.line_end}"
        return "whole text"

    def to_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value is not None}


class SourceFiles:
    """Reads corpus files on demand (each once) and finds quotes in them."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)
        self._read: dict[str, SourceText | str] = {}
        self._lines: dict[str, _FoldedLines | None] = {}

    def source(self, name: str) -> SourceText | str:
        """The cleaned pages of corpus file ``name``, or why it cannot be read."""
        if name not in self._read:
            path = self.corpus_dir / name
            if not path.is_file():
                self._read[name] = f"evidence file {name!r} not found in {self.corpus_dir}"
            else:
                try:
                    self._read[name] = read_source(path, name)
                except SkipFile as exc:
                    self._read[name] = f"evidence file cannot be read: {exc}"
        return self._read[name]

    def page_text(self, name: str, page: int | None) -> str | None:
        """The cleaned text of a physical page (the whole text when the file has no pages)."""
        source = self.source(name)
        if isinstance(source, str):
            return None
        return next((p.text for p in source.pages if p.page == page), None)

    def locate(self, name: str, quote: str) -> list[QuoteLocation]:
        """Every page (or page pair, for a quote across a break) the quote stands on; for an
        unpaged text, one location with the file lines where known. Empty: not found."""
        source = self.source(name)
        if isinstance(source, str) or not normalize(quote):
            return []
        if not source.paged:
            if not any(quote_on_page(quote, page.text) for page in source.pages):
                return []
            spans = self._file_lines(name)
            found = spans.find(quote) if spans else []
            if not found:
                return [QuoteLocation()]
            return [QuoteLocation(line_start=a, line_end=b) for a, b in found]
        found = []
        pages = source.pages
        for i, page in enumerate(pages):
            if quote_on_page(quote, page.text):
                found.append(QuoteLocation(page.page, page.page, page.page_label))
            elif i + 1 < len(pages) and pages[i + 1].page == (page.page or 0) + 1:
                following = pages[i + 1]
                if quote_on_page(quote, page.text + "\n" + following.text) and not (
                    quote_on_page(quote, following.text)
                ):
                    found.append(QuoteLocation(page.page, following.page, page.page_label))
        return found

    def _file_lines(self, name: str) -> _FoldedLines | None:
        if name not in self._lines:
            path = self.corpus_dir / name
            folded = None
            if path.suffix.lower() in TEXT_SUFFIXES:
                try:
                    text, _ = _decode(path.read_bytes(), name)
                    folded = _FoldedLines(normalise_chars(text))
                except (OSError, SkipFile):
                    folded = None
            self._lines[name] = folded
        return self._lines[name]


class _FoldedLines:
    """A text folded the way ``normalize`` folds it, remembering the line of every word, so
    that a match in the folded text gives back the file lines it came from."""

    def __init__(self, text: str) -> None:
        words: list[tuple[str, int, int]] = []  # (word, first line, last line)
        for lineno, line in enumerate(text.split("\n"), start=1):
            words.extend((word, lineno, lineno) for word in line.split())
        joined: list[tuple[str, int, int]] = []
        for word, first, last in words:
            if joined and joined[-1][2] < first and joined[-1][0][-1:] in "-\u2010":
                # A word hyphenated at a line end: join it exactly as normalize() does.
                prev, prev_first, _ = joined[-1]
                merged = normalize(prev + "\n" + word)
                if " " not in merged:
                    joined[-1] = (merged, prev_first, last)
                    continue
            joined.append((word, first, last))
        self._starts: list[int] = []
        self._spans = [(first, last) for _, first, last in joined]
        parts, offset = [], 0
        for word, _, _ in joined:
            part = normalize(word)
            self._starts.append(offset)
            parts.append(part)
            offset += len(part) + 1
        self._folded = " ".join(parts)

    def find(self, quote: str) -> list[tuple[int, int]]:
        """The (first, last) file lines of every occurrence of ``quote``."""
        wanted = normalize(quote)
        spans = []
        at = self._folded.find(wanted) if wanted else -1
        while at != -1:
            first = bisect.bisect_right(self._starts, at) - 1
            last = bisect.bisect_right(self._starts, at + len(wanted) - 1) - 1
            spans.append((self._spans[first][0], self._spans[last][1]))
            at = self._folded.find(wanted, at + 1)
        return spans
