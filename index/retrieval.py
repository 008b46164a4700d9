"""Retrievers over a ``Store``: BM25, dense, and their fusion.

Each retriever gets its components passed in; none reaches for a global LLM or embedder.
Filters go down into the store's searches.
"""

from __future__ import annotations

from typing import Protocol

from kilde.config import RetrievalSettings
from kilde.types import Filters, Retrieved

from .embedders import Embedder
from .fusion import reciprocal_rank_fusion, score_fusion
from .interface import ScoredIds, Store


class Retriever(Protocol):
    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        """The ``k`` best chunks for ``query``, best first."""
        ...


def _hits(store: Store, scored: ScoredIds) -> list[Retrieved]:
    chunks = store.get_chunks([chunk_id for chunk_id, _ in scored])
    return [Retrieved(chunk, score) for chunk, (_, score) in zip(chunks, scored, strict=True)]


class Bm25Retriever:
    def __init__(self, store: Store):
        self.store = store

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        return _hits(self.store, self.store.lexical_search(query, k, filters))


class DenseRetriever:
    def __init__(self, store: Store, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        vector = self.embedder.embed_query(query)
        return _hits(self.store, self.store.dense_search(vector, k, filters))


class HybridRetriever:
    """BM25 and dense candidates fused by weighted RRF or normalised score fusion."""

    def __init__(self, store: Store, embedder: Embedder, settings: RetrievalSettings):
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        depth = max(self.settings.candidates, k)
        sparse = self.store.lexical_search(query, depth, filters)
        dense = self.store.dense_search(self.embedder.embed_query(query), depth, filters)
        weights = (1.0 - self.settings.dense_weight, self.settings.dense_weight)
        if self.settings.fusion == "rrf":
            fused = reciprocal_rank_fusion(
                [[i for i, _ in sparse], [i for i, _ in dense]], weights, self.settings.rrf_k
            )
        else:
            fused = score_fusion([sparse, dense], weights)
        # Ties go to the order the candidates first appeared in (BM25's, then dense's).
        first_seen: dict[str, int] = {}
        for n, (chunk_id, _) in enumerate(sparse + dense):
            first_seen.setdefault(chunk_id, n)
        best = sorted(fused.items(), key=lambda item: (-item[1], first_seen[item[0]]))[:k]
        return _hits(self.store, best)


def make_retriever(store: Store, embedder: Embedder, settings: RetrievalSettings) -> Retriever:
    if settings.retriever == "bm25":
        return Bm25Retriever(store)
    if settings.retriever == "dense":
        return DenseRetriever(store, embedder)
    return HybridRetriever(store, embedder, settings)
