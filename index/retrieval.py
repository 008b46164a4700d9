"""Retrievers over an IndexStore: BM25, dense, and their fusion.

Each retriever gets its components passed in; none reaches for a global LLM or embedder.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from kilde.config import Settings
from kilde.types import Filters, Retrieved

from .embedders import Embedder
from .fusion import reciprocal_rank_fusion, score_fusion
from .store import IndexStore


class Retriever(Protocol):
    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        """The ``k`` best chunks for ``query``, best first."""
        ...


def allowed_rows(store: IndexStore, filters: Filters | None) -> np.ndarray | None:
    """Boolean mask of chunks passing ``filters``; None when nothing is filtered."""
    if filters is None or filters.is_empty():
        return None
    keep_files = set()
    for rel, doc in store.docs.items():
        if filters.files and rel not in filters.files:
            continue
        if filters.publishers and doc.publisher not in filters.publishers:
            continue
        year = doc.year
        if filters.year_from and (year is None or year < filters.year_from):
            continue
        if filters.year_to and (year is None or year > filters.year_to):
            continue
        keep_files.add(rel)
    return np.array([c.file in keep_files for c in store.chunks], dtype=bool)


class Bm25Retriever:
    def __init__(self, store: IndexStore):
        self.store = store

    def ranked(self, query: str, depth: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        scores = self.store.bm25.scores(query)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        order = np.argsort(-scores, kind="stable")[:depth]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        pairs = self.ranked(query, k, allowed_rows(self.store, filters))
        return [Retrieved(self.store.chunks[i], s) for i, s in pairs]


class DenseRetriever:
    def __init__(self, store: IndexStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def ranked(
        self, query_vector: np.ndarray, depth: int, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        if mask is None:
            return self.store.dense.search(query_vector, depth)
        # Filtered: search everything, then keep allowed rows (flat index, small corpora).
        pairs = self.store.dense.search(query_vector, self.store.dense.size)
        return [(i, s) for i, s in pairs if mask[i]][:depth]

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        vector = self.embedder.embed_query(query)
        pairs = self.ranked(vector, k, allowed_rows(self.store, filters))
        return [Retrieved(self.store.chunks[i], s) for i, s in pairs]


class HybridRetriever:
    """BM25 and dense candidates fused by weighted RRF or normalised score fusion."""

    def __init__(self, store: IndexStore, embedder: Embedder, settings: Settings):
        self.store = store
        self.bm25 = Bm25Retriever(store)
        self.dense = DenseRetriever(store, embedder)
        self.embedder = embedder
        self.settings = settings

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        mask = allowed_rows(self.store, filters)
        depth = max(self.settings.candidates, k)
        sparse = self.bm25.ranked(query, depth, mask)
        dense = self.dense.ranked(self.embedder.embed_query(query), depth, mask)
        weights = (1.0 - self.settings.dense_weight, self.settings.dense_weight)
        if self.settings.fusion == "rrf":
            fused = reciprocal_rank_fusion(
                [[i for i, _ in sparse], [i for i, _ in dense]], weights, self.settings.rrf_k
            )
        else:
            fused = score_fusion([sparse, dense], weights)
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [Retrieved(self.store.chunks[i], s) for i, s in best]


def make_retriever(store: IndexStore, embedder: Embedder, settings: Settings) -> Retriever:
    if settings.retriever == "bm25":
        return Bm25Retriever(store)
    if settings.retriever == "dense":
        return DenseRetriever(store, embedder)
    return HybridRetriever(store, embedder, settings)
