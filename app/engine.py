"""An opened index with its embedder, retriever and answerer, loaded once and reused.

The CLI, the eval runner and the Streamlit app all answer through this one object, so that
they share a code path.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kilde.config import Settings
from kilde.errors import IndexMismatchError
from kilde.index.embedders import Embedder, load_embedder
from kilde.index.retrieval import Retriever, make_retriever
from kilde.index.store import IndexStore, load_store
from kilde.types import Answer, Filters

from .answer import Answerer, ExtractiveAnswerer
from .checks import (
    FOREIGN_HINT,
    check_index,
    check_question,
    looks_foreign,
    resolve_filters,
    words_of,
)


class Engine:
    def __init__(self, settings: Settings, store: IndexStore, embedder: Embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever: Retriever = make_retriever(store, embedder, settings)
        self.answerer: Answerer = ExtractiveAnswerer(store, embedder, self.retriever, settings)
        self._vocabulary: frozenset[str] | None = None

    @classmethod
    def open(
        cls, settings: Settings, embedder_spec: str | None = None, embedder: Embedder | None = None
    ) -> Engine:
        """Open ``settings.index_dir``. Without an explicit embedder, load the one the index
        was built with; with one, insist that it matches."""
        store = load_store(Path(settings.index_dir))
        if embedder is None:
            spec = embedder_spec or store.manifest["embedder"].get("spec") or settings.embedder
            embedder = QueryCache(load_embedder(spec))
        if embedder.id != store.embedder_id:
            raise IndexMismatchError(
                f"indeksen i {settings.index_dir} er bygd med {store.embedder_id}, ikke "
                f"{embedder.id}; bygg den på nytt med {embedder.id} (kilde ingest MAPPE --index "
                "NY_MAPPE --embedder ...) eller spør med embedderen indeksen er bygd med"
            )
        return cls(settings, store, embedder)

    def with_settings(self, settings: Settings) -> Engine:
        """The same store and embedder with other retrieval/answer settings (no reload)."""
        return Engine(settings, self.store, self.embedder)

    def ask(
        self, question: str, history: Sequence[str] = (), filters: Filters | None = None
    ) -> Answer:
        question, filters = self.checked(question, filters)
        if looks_foreign(question, self.vocabulary):
            return Answer(question, FOREIGN_HINT, refused=True, meta={"reason": "not_norwegian"})
        return self.answerer.answer(question, history, filters)

    def checked(self, question: str, filters: Filters | None) -> tuple[str, Filters | None]:
        """The question and filters to search with; a UsageError or IndexEmptyError with one
        Norwegian line for a mistake, so that it never reads as "not in the documents"."""
        check_index(self.store.docs, len(self.store.chunks), self.settings.index_dir)
        return check_question(question), resolve_filters(filters, self.store.docs)

    def vocabulary(self) -> frozenset[str]:
        if self._vocabulary is None:
            self._vocabulary = words_of(chunk.text for chunk in self.store.chunks)
        return self._vocabulary


class QueryCache:
    """An embedder that remembers recent query vectors: retrieval and answer scoring embed
    the same query, and a UI rerun asks again."""

    def __init__(self, inner: Embedder, size: int = 256):
        self._inner = inner
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size

    @property
    def id(self) -> str:
        return self._inner.id

    @property
    def dim(self) -> int:
        return self._inner.dim

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_passages(texts)

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def embed_query(self, text: str) -> np.ndarray:
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        vector = self._inner.embed_query(text)
        self._cache[text] = vector
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return vector
