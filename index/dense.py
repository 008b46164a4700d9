"""Dense search: a FAISS inner-product index over L2-normalised chunk vectors.

FAISS is called directly rather than through llama-index's FaissVectorStore: that wrapper
adds nothing to a flat inner-product search, and importing llama-index costs about 2 s of a
CLI query's cold start (target: 3 s). A server backend (pgvector, OpenSearch) would stand
behind the same ``search(vector, k)``.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    def __init__(self, faiss_index: faiss.Index):
        self._index = faiss_index

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
        query = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        scores, rows = self._index.search(query, k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
