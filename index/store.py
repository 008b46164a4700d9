"""The on-disk index: one folder holding the chunk store, vectors, FAISS, BM25 and a manifest.

Layout of an index folder DIR::

    DIR/CURRENT            name of the live generation, replaced atomically
    DIR/gen-<stamp>/       manifest.json, chunks.jsonl, pages.jsonl, vectors.npy,
                           dense.faiss, bm25/

A new generation is built in ``DIR/.building-<pid>`` and published by renaming it and then
replacing CURRENT in one ``os.replace``. A crash or Ctrl-C before that leaves the previous
generation live; leftovers are removed by the next successful publish.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from kilde.errors import IndexMismatchError, IndexMissingError
from kilde.types import Chunk, DocInfo, Page

from .dense import DenseIndex
from .sparse import Bm25Index

FORMAT_VERSION = 1
CURRENT = "CURRENT"


class IndexStore:
    """A loaded, read-only index generation."""

    def __init__(
        self,
        folder: Path,
        manifest: dict,
        chunks: list[Chunk],
        pages: list[Page],
        vectors: np.ndarray,
        dense: DenseIndex,
        bm25: Bm25Index,
    ):
        self.folder = folder
        self.manifest = manifest
        self.chunks = chunks
        self.pages = pages
        self.vectors = vectors
        self.dense = dense
        self.bm25 = bm25
        self.docs: dict[str, DocInfo] = {
            rel: DocInfo(**meta["doc"]) for rel, meta in manifest["files"].items()
        }
        self._page_text = {(p.file, p.page): p.text for p in pages}
        self._line_map = {(p.file, p.page): p.line_map for p in pages}

    @property
    def embedder_id(self) -> str:
        return self.manifest["embedder"]["id"]

    def page_text(self, file: str, page: int | None) -> str | None:
        """The cleaned text of a page (the whole text for an unpaged file)."""
        return self._page_text.get((file, page))

    def line_map(self, file: str, page: int | None) -> tuple[tuple[int, int], ...]:
        """The page's map back to file lines (kilde.ingest.linemap); empty when it has none."""
        return self._line_map.get((file, page)) or ()

    def chunk_rows(self, file: str) -> list[int]:
        return [i for i, c in enumerate(self.chunks) if c.file == file]


def live_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    gen = index_dir / pointer.read_text(encoding="utf-8").strip()
    return gen if (gen / "manifest.json").is_file() else None


def load_store(index_dir: Path, embedder_id: str | None = None) -> IndexStore:
    """Open the live generation; with ``embedder_id``, insist that it was built with it."""
    index_dir = Path(index_dir)
    gen = live_generation(index_dir)
    if gen is None:
        raise IndexMissingError(
            f"fant ingen indeks i {index_dir}; bygg en med: kilde ingest MAPPE --index {index_dir}"
        )
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"indeksen i {index_dir} har format {manifest.get('format_version')}, denne kilde "
            f"leser {FORMAT_VERSION}; bygg den på nytt: kilde ingest MAPPE --index {index_dir}"
        )
    built_with = manifest["embedder"]["id"]
    if embedder_id is not None and built_with != embedder_id:
        raise IndexMismatchError(
            f"indeksen i {index_dir} er bygd med embedderen {built_with}, ikke {embedder_id}; "
            f"bygg den på nytt med den (kilde ingest MAPPE --index {index_dir} "
            f"--embedder ...) eller bruk en ny --index-mappe"
        )
    chunks = [Chunk(**row) for row in _read_jsonl(gen / "chunks.jsonl")]
    pages = [Page(**row) for row in _read_jsonl(gen / "pages.jsonl")]
    vectors = np.load(gen / "vectors.npy")
    return IndexStore(
        folder=gen,
        manifest=manifest,
        chunks=chunks,
        pages=pages,
        vectors=vectors,
        dense=DenseIndex.load(gen / "dense.faiss"),
        bm25=Bm25Index.load(gen / "bm25", len(chunks)),
    )


def write_generation(
    index_dir: Path,
    manifest: dict,
    chunks: list[Chunk],
    pages: list[Page],
    vectors: np.ndarray,
    index_texts: list[str] | None = None,
) -> Path:
    """Write a complete generation beside the live one and publish it atomically.

    ``index_texts`` are what BM25 indexes for each chunk (default: the chunk text)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    building = index_dir / f".building-{os.getpid()}"
    if building.exists():
        shutil.rmtree(building)
    building.mkdir()
    manifest = {**manifest, "format_version": FORMAT_VERSION, "created": time.time()}
    _write_jsonl(building / "chunks.jsonl", (asdict(c) for c in chunks))
    _write_jsonl(building / "pages.jsonl", (asdict(p) for p in pages))
    np.save(building / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    DenseIndex.build(vectors, manifest["embedder"]["dim"]).save(building / "dense.faiss")
    (building / "bm25").mkdir()
    texts = index_texts if index_texts is not None else [c.text for c in chunks]
    Bm25Index.build(texts).save(building / "bm25")
    (building / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    _fsync_tree(building)

    name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    os.rename(building, index_dir / name)
    pointer_tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    pointer_tmp.write_text(name, encoding="utf-8")
    os.replace(pointer_tmp, index_dir / CURRENT)  # the one atomic step that publishes
    _remove_stale(index_dir, keep=name)
    return index_dir / name


def _remove_stale(index_dir: Path, keep: str) -> None:
    for entry in index_dir.iterdir():
        if entry.name in (keep, CURRENT):
            continue
        if entry.name.startswith(("gen-", ".building-", f".{CURRENT}.")):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
