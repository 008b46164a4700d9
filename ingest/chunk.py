"""Split pages into chunks that map back to their page by character offsets.

llama-index's SentenceSplitter does the splitting, counting tokens with the embedder's own
tokenizer, so a chunk never exceeds what the model sees (e5: 512 tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from kilde.config import IndexSettings
from kilde.text import locate
from kilde.text.headings import section_heading
from kilde.types import Chunk, Page

from .linemap import source_lines

# Bump when reading, cleaning or chunking changes what an unchanged file turns into, so that
# a re-ingest re-reads files instead of reusing their stored chunks.
PIPELINE_VERSION = 5


@dataclass(frozen=True)
class ChunkingParams:
    chunk_size: int = IndexSettings.chunk_size  # tokens of the embedder's tokenizer
    chunk_overlap: int = IndexSettings.chunk_overlap
    title_in_index: bool = True  # embed and BM25-index "title\ntext", not the text alone

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> ChunkingParams:
        return cls(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)

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
                lines = source_lines(page.line_map, start, end)
                heading = section_heading(text, start)
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
