"""A llama-index ``BaseEmbedding`` around kilde's Embedder protocol.

It lets a plain llama-index pipeline (``VectorStoreIndex`` and friends) use the very same
model kilde uses, so that the two can be compared (see ``bench/ingest_bench.py``). Nothing
here reads or writes llama-index's global ``Settings``: pass the adapter explicitly
(``VectorStoreIndex(..., embed_model=LlamaEmbedding(embedder))``).

The adapter keeps the time spent inside the embedder (``embed_seconds``) and the number of
texts it embedded (``embedded_texts``), so callers can split pipeline time into embedding
and everything else.
"""

from __future__ import annotations

import time
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from .embedders import Embedder

DEFAULT_EMBED_BATCH = 16


class LlamaEmbedding(BaseEmbedding):
    """``BaseEmbedding`` over a kilde ``Embedder`` (passage and query roles kept apart)."""

    _embedder: Any = PrivateAttr()
    _embed_seconds: float = PrivateAttr(default=0.0)
    _embedded_texts: int = PrivateAttr(default=0)

    def __init__(
        self, embedder: Embedder, embed_batch_size: int = DEFAULT_EMBED_BATCH, **kwargs: Any
    ):
        super().__init__(model_name=embedder.id, embed_batch_size=embed_batch_size, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "KildeLlamaEmbedding"

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def embed_seconds(self) -> float:
        """Seconds spent inside the embedder's passage and query calls so far."""
        return self._embed_seconds

    @property
    def embedded_texts(self) -> int:
        return self._embedded_texts

    def reset_timing(self) -> None:
        self._embed_seconds = 0.0
        self._embedded_texts = 0

    # --- BaseEmbedding -----------------------------------------------------------------

    def _get_query_embedding(self, query: str) -> Embedding:
        started = time.perf_counter()
        vector = self._embedder.embed_query(query).tolist()
        self._embed_seconds += time.perf_counter() - started
        return vector

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        started = time.perf_counter()
        vectors = self._embedder.embed_passages(list(texts)).tolist()
        self._embed_seconds += time.perf_counter() - started
        self._embedded_texts += len(texts)
        return vectors

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._get_text_embeddings(texts)
