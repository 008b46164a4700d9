"""Split pages into chunks that map back to their page by character offsets.

llama-index's SentenceSplitter does the splitting, counting tokens with the embedder's own
tokenizer, so a chunk never exceeds what the model sees (e5: 512 tokens).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from kilde.types import Chunk, Page

_WS = re.compile(r"\s+")


# Bump when reading, cleaning or chunking changes what an unchanged file turns into, so that
# a re-ingest re-reads files instead of reusing their stored chunks.
PIPELINE_VERSION = 4  # 4: scanned PDF pages are OCR'd


@dataclass(frozen=True)
class ChunkingParams:
    chunk_size: int = 400  # tokens of the embedder's tokenizer (see kilde.config)
    chunk_overlap: int = 66
    title_in_index: bool = True  # embed and BM25-index "title\ntext", not the text alone

    def as_dict(self) -> dict:
        return {
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "title_in_index": self.title_in_index,
            "pipeline_version": PIPELINE_VERSION,
        }

    def fitted(self, max_tokens: int, title_tokens: int = 40) -> ChunkingParams:
        """These params with the chunk size capped so that a chunk, with its title, fits in
        what the embedder reads (``max_tokens``); a longer chunk would be cut silently."""
        room = max_tokens - (title_tokens if self.title_in_index else 0)
        if self.chunk_size <= room:
            return self
        return replace(self, chunk_size=room, chunk_overlap=min(self.chunk_overlap, room // 4))

    def index_text(self, chunk: Chunk) -> str:
        """What the embedder and BM25 see for a chunk; citations still use ``chunk.text``."""
        return f"{chunk.title}\n{chunk.text}" if self.title_in_index else chunk.text


def whitespace_token_count(text: str) -> int:
    """A tokenizer-free count, for tests and embedders without a tokenizer."""
    return len(text.split())


class Chunker:
    """Turns Pages into Chunks; ``count_tokens`` is the embedder's token counter."""

    def __init__(self, params: ChunkingParams, count_tokens: Callable[[str], int]):
        from llama_index.core.node_parser import SentenceSplitter  # slow import: only here

        self.params = params
        # SentenceSplitter takes len() of what the tokenizer returns.
        self._splitter = SentenceSplitter(
            chunk_size=params.chunk_size,
            chunk_overlap=params.chunk_overlap,
            tokenizer=lambda text: range(count_tokens(text)),
            include_metadata=False,
            include_prev_next_rel=False,
        )

    def chunk_pages(self, pages: Iterable[Page], title: str) -> list[Chunk]:
        chunks: list[Chunk] = []
        for page in pages:
            chunks.extend(self.chunk_page(page, title))
        return chunks

    def chunk_page(self, page: Page, title: str) -> list[Chunk]:
        text = page.text
        if not text.strip():
            return []
        chunks = []
        cursor = 0
        for piece in self._splitter.split_text(text):
            span = locate(text, piece, cursor)
            if span is None:  # cannot map back: never emit a chunk we cannot cite
                continue
            start, end = span
            # Overlapping chunks start before the previous end; search from just after
            # the previous start so that repeated text maps to the next occurrence.
            cursor = start + 1
            lines = heading = None
            if page.page is None:
                lines = line_range(text, start, end)
                heading = nearest_heading(text, start)
            chunks.append(
                Chunk(
                    chunk_id=f"{page.file}:{page.page or 0}:{start}",
                    file=page.file,
                    title=title,
                    page=page.page,
                    page_label=page.page_label,
                    start=start,
                    end=end,
                    text=text[start:end],
                    line_start=lines[0] if lines else None,
                    line_end=lines[1] if lines else None,
                    heading=heading,
                    ocr=page.ocr,
                )
            )
        return chunks


def locate(text: str, piece: str, cursor: int) -> tuple[int, int] | None:
    """Where ``piece`` (a splitter output) stands in ``text``, at or after ``cursor``.

    The splitter keeps the source characters but may strip or re-join whitespace, so fall
    back to a whitespace-insensitive search anchored on the first and last words.
    """
    piece = piece.strip()
    if not piece:
        return None
    at = text.find(piece, cursor)
    if at < 0:
        at = text.find(piece)
    if at >= 0:
        return at, at + len(piece)
    pattern = r"\s+".join(re.escape(word) for word in piece.split())
    match = re.compile(pattern).search(text, cursor) or re.compile(pattern).search(text)
    return (match.start(), match.end()) if match else None


def line_range(text: str, start: int, end: int) -> tuple[int, int]:
    """1-based inclusive line numbers of text[start:end]."""
    first = text.count("\n", 0, start) + 1
    last = first + text.count("\n", start, max(start, end - 1))
    return first, last


_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?[A-ZÆØÅ][^\n]{1,90}$")


def nearest_heading(text: str, offset: int) -> str | None:
    """The closest line before ``offset`` that looks like a heading.

    A heading here is a short line standing alone (blank line or start of text before it),
    starting with a capital or a section number, and not ending like a sentence.
    """
    lines = text[:offset].split("\n")
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i].strip()
        alone = i == 0 or not lines[i - 1].strip()
        if (
            alone
            and _HEADING.match(line)
            and len(line) <= 90
            and not line.endswith((".", ",", ";"))
            and len(line.split()) <= 12
        ):
            return line
    return None


def squash(text: str) -> str:
    """Whitespace-folded text, for comparisons that ignore layout."""
    return _WS.sub(" ", text).strip()
