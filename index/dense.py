"""Dense search: a FAISS inner-product index over L2-normalised chunk vectors.

Wrapped in llama-index's FaissVectorStore so that a later backend (pgvector, OpenSearch)
can stand behind the same VectorStoreQuery interface.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.vector_stores.faiss import FaissVectorStore


class DenseIndex:
    def __init__(self, faiss_index: faiss.Index):
        self._index = faiss_index
        self._store = FaissVectorStore(faiss_index=faiss_index)

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int) -> DenseIndex:
        index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(faiss.read_index(str(path)))

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top ``k`` (row, cosine) pairs, best first."""
        k = min(k, self.size)
        if k <= 0:
            return []
        result = self._store.query(
            VectorStoreQuery(query_embedding=query_vector.tolist(), similarity_top_k=k)
        )
        return [(int(i), float(s)) for i, s in zip(result.ids, result.similarities, strict=True)]
