"""An opened store with its embedder and pipeline, loaded once and reused.

The CLI, the eval runner and the Streamlit app all answer through this one object (with the
same query cache), so that they share a code path and eval measures the product.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from kilde.config import Settings
from kilde.errors import IndexMismatchError
from kilde.index.embedders import Embedder, load_embedder
from kilde.index.interface import Store
from kilde.index.retrieval import Retriever, make_retriever
from kilde.index.store import open_store
from kilde.types import Answer, Filters

from .checks import (
    FOREIGN_HINT,
    check_index,
    check_question,
    looks_foreign,
    resolve_filters,
    words_of,
)
from .factory import build_pipeline
from .pipeline import Pipeline


class Engine:
    def __init__(self, settings: Settings, store: Store, embedder: Embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever: Retriever = make_retriever(store, embedder, settings.retrieval)
        self.pipeline: Pipeline = build_pipeline(settings, store, embedder)
        self._vocabulary: frozenset[str] | None = None

    @classmethod
    def open(
        cls, settings: Settings, embedder_spec: str | None = None, embedder: Embedder | None = None
    ) -> Engine:
        """Open the store at ``settings.index.index_dir``. Without an explicit embedder, load
        the one the index was built with; with one, insist that it matches."""
        store = open_store(settings.index.location)
        if embedder is None:
            spec = embedder_spec or store.embedder_spec or settings.index.embedder
            embedder = load_embedder(spec)
        if not isinstance(embedder, QueryCache):
            embedder = QueryCache(embedder)
        if embedder.id != store.embedder_id:
            raise IndexMismatchError(
                f"indeksen i {store.status().location} er bygd med {store.embedder_id}, ikke "
                f"{embedder.id}; bygg den på nytt med {embedder.id} "
                f"(kilde ingest CORPUS --index NY_MAPPE --embedder ...) eller spør med "
                "embedderen indeksen ble bygd med"
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
            return Answer(
                question,
                FOREIGN_HINT,
                refused=True,
                answerer="language_check",
                refusal_reason="language",
            )
        return self.pipeline.ask(question, history, filters)

    def checked(self, question: str, filters: Filters | None) -> tuple[str, Filters | None]:
        """The question and filters to search with; a UsageError or IndexEmptyError with one
        Norwegian line for a mistake, so that it never reads as "not in the documents"."""
        documents = self.store.documents()
        check_index(documents, self.store.status().chunks, self.settings.index.index_dir)
        return check_question(question), resolve_filters(filters, documents)

    def vocabulary(self) -> frozenset[str]:
        """Lower-case words of the indexed text (built on first use: the language check)."""
        if self._vocabulary is None:
            self._vocabulary = words_of(self.store.texts())
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

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    def embed_query(self, text: str) -> np.ndarray:
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        vector = self._inner.embed_query(text)
        self._cache[text] = vector
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return vector
