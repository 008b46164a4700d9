"""BM25 over chunks with Norwegian stemming and stopwords (bm25s + PyStemmer)."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from kilde.text import analyze


class Bm25Index:
    """A bm25s index whose row i is chunk i of the store."""

    def __init__(self, model: bm25s.BM25, size: int):
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> Bm25Index:
        model = bm25s.BM25()
        # An empty document still needs a token so that rows stay aligned with chunks.
        corpus = [analyze(t) or ["\u2205"] for t in texts]
        if corpus:
            model.index(corpus, show_progress=False)
        return cls(model, len(texts))

    def save(self, folder: Path) -> None:
        if self.size:
            self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> Bm25Index:
        if not size:
            return cls(bm25s.BM25(), 0)
        return cls(bm25s.BM25.load(str(folder), show_progress=False), size)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when nothing matches)."""
        if not self.size:  # an unfitted bm25s model has no vocabulary at all
            return np.zeros(0, dtype=np.float32)
        tokens = [t for t in analyze(query) if t in self._model.vocab_dict]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)
