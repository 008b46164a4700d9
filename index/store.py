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
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from kilde.errors import IndexMismatchError, IndexMissingError
from kilde.text import analyze
from kilde.types import Chunk, DocInfo, Filters, Page

from .dense import DenseIndex
from .interface import IndexStatus, ScoredIds, Store, TermStats
from .pg_schema import is_pg_url
from .sparse import Bm25Index

FORMAT_VERSION = 1
CURRENT = "CURRENT"


class FolderStore:
    """A loaded, read-only generation of a folder index; implements ``Store``."""

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
        self._rows = {c.chunk_id: i for i, c in enumerate(chunks)}
        self._term_stats: TermStats | None = None

    # -- Store -------------------------------------------------------------------------

    @property
    def embedder_id(self) -> str:
        return self.manifest["embedder"]["id"]

    @property
    def embedder_spec(self) -> str | None:
        return self.manifest["embedder"].get("spec")

    def status(self) -> IndexStatus:
        return IndexStatus(
            location=str(self.folder.parent),
            generation=self.folder.name,
            embedder_id=self.embedder_id,
            embedder_spec=self.embedder_spec,
            embedder_dim=self.manifest["embedder"].get("dim"),
            documents=len(self.docs),
            pages=len(self.pages),
            chunks=len(self.chunks),
            created=self.manifest.get("created"),
            chunking=self.manifest.get("chunking", {}),
            skipped=tuple(self.manifest.get("skipped", ())),
            corpus_dir=self.manifest.get("corpus_dir"),
        )

    def documents(self) -> dict[str, DocInfo]:
        return dict(self.docs)

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> ScoredIds:
        mask = self._allowed(filters)
        if mask is None:
            pairs = self.dense.search(vector, k)
        else:  # flat index, small corpora: search everything, keep the allowed rows
            pairs = [(i, s) for i, s in self.dense.search(vector, self.dense.size) if mask[i]]
        return [(self.chunks[i].chunk_id, s) for i, s in pairs[:k]]

    def lexical_search(self, query: str, k: int, filters: Filters | None = None) -> ScoredIds:
        scores = self.bm25.scores(query)
        mask = self._allowed(filters)
        if mask is not None and len(scores):
            scores = np.where(mask, scores, 0.0)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.chunks[i].chunk_id, float(scores[i])) for i in order if scores[i] > 0]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return [self.chunks[self._rows[i]] for i in chunk_ids]

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        rows = [self._rows[i] for i in chunk_ids]
        return self.vectors[rows] if rows else np.zeros((0, self.vectors.shape[1]), np.float32)

    def file_chunks(self, file: str) -> list[Chunk]:
        return [c for c in self.chunks if c.file == file]

    def file_pages(self, file: str) -> list[Page]:
        return [p for p in self.pages if p.file == file]

    def page_text(self, file: str, page: int | None) -> str | None:
        return self._page_text.get((file, page))

    def term_stats(self) -> TermStats:
        if self._term_stats is None:  # computed once, on first use (the gate needs it)
            df: Counter[str] = Counter()
            for chunk in self.chunks:
                df.update(set(analyze(chunk.text)))
            self._term_stats = TermStats(chunks=len(self.chunks), df=df)
        return self._term_stats

    def texts(self) -> Iterator[str]:
        return (chunk.text for chunk in self.chunks)

    def line_map(self, file: str, page: int | None) -> tuple[tuple[int, int], ...]:
        """The page's map back to file lines (kilde.ingest.linemap); empty when it has none."""
        return self._line_map.get((file, page)) or ()

    # -- folder details ----------------------------------------------------------------

    def chunk_rows(self, file: str) -> list[int]:
        return [i for i, c in enumerate(self.chunks) if c.file == file]

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask of chunks passing ``filters``; None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        keep = {rel for rel, doc in self.docs.items() if filters.admits(rel, doc)}
        return np.array([c.file in keep for c in self.chunks], dtype=bool)


def live_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    gen = index_dir / pointer.read_text(encoding="utf-8").strip()
    return gen if (gen / "manifest.json").is_file() else None


def load_store(index_dir: Path, embedder_id: str | None = None) -> FolderStore:
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
    pages = [_page(row) for row in _read_jsonl(gen / "pages.jsonl")]
    vectors = np.load(gen / "vectors.npy")
    return FolderStore(
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


def _page(row: dict) -> Page:
    """A stored page; JSON gives its line map as lists, the type holds tuples."""
    line_map = tuple(tuple(pair) for pair in row.get("line_map", ()))
    return Page(**{**row, "line_map": line_map})


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class FolderWriter:
    """Builds the next generation of a folder index from the live one (``base``): files are
    upserted or deleted one by one in memory, and ``publish`` writes the whole generation
    beside the live one and switches to it atomically. Implements ``StoreWriter``."""

    def __init__(self, index_dir: Path, manifest: dict, base: FolderStore | None = None):
        self.index_dir = Path(index_dir)
        self.manifest = manifest  # embedder, chunking, corpus_dir
        self._files: dict[str, dict] = {}
        if base is not None:
            for rel, meta in base.manifest["files"].items():
                rows = base.chunk_rows(rel)
                # BM25 is rebuilt whole at publish, so kept files need their indexed text.
                texts = base.manifest.get("chunking", {}).get("title_in_index", True)
                chunks = [base.chunks[i] for i in rows]
                self._files[rel] = {
                    "doc": base.docs[rel],
                    "pages": base.file_pages(rel),
                    "chunks": chunks,
                    "vectors": base.vectors[rows],
                    "index_texts": [f"{c.title}\n{c.text}" if texts else c.text for c in chunks],
                    "title_from_catalog": meta.get("title_from_catalog", False),
                }

    def files(self) -> list[str]:
        return sorted(self._files)

    def upsert_file(
        self,
        doc: DocInfo,
        pages: Sequence[Page],
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        index_texts: Sequence[str],
        title_from_catalog: bool = False,
    ) -> None:
        self._files[doc.file] = {
            "doc": doc,
            "pages": list(pages),
            "chunks": list(chunks),
            "vectors": np.asarray(vectors, dtype=np.float32),
            "index_texts": list(index_texts),
            "title_from_catalog": title_from_catalog,
        }

    def delete_file(self, file: str) -> None:
        self._files.pop(file, None)

    def publish(self, skipped: Sequence[str] = ()) -> Path:
        ordered = [self._files[rel] for rel in sorted(self._files)]
        dim = self.manifest["embedder"]["dim"]
        vectors = (
            np.concatenate([f["vectors"] for f in ordered])
            if ordered
            else np.zeros((0, dim), dtype=np.float32)
        )
        manifest = {
            **self.manifest,
            "files": {
                f["doc"].file: {
                    "doc": asdict(f["doc"]),
                    "chunks": len(f["chunks"]),
                    "title_from_catalog": f["title_from_catalog"],
                }
                for f in ordered
            },
            "skipped": list(skipped),
        }
        return write_generation(
            self.index_dir,
            manifest,
            [c for f in ordered for c in f["chunks"]],
            [p for f in ordered for p in f["pages"]],
            vectors,
            [t for f in ordered for t in f["index_texts"]],
        )


def read_status(index_dir: Path) -> IndexStatus | None:
    """The live generation's status from its manifest alone (no vectors loaded); None when
    there is no index. Cheap enough to call on every UI rerun."""
    index_dir = Path(index_dir)
    gen = live_generation(index_dir)
    if gen is None:
        return None
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = manifest.get("files", {})
    return IndexStatus(
        location=str(index_dir),
        generation=gen.name,
        embedder_id=manifest.get("embedder", {}).get("id"),
        embedder_spec=manifest.get("embedder", {}).get("spec"),
        embedder_dim=manifest.get("embedder", {}).get("dim"),
        documents=len(files),
        pages=sum(meta["doc"].get("pages", 0) for meta in files.values()),
        chunks=sum(meta.get("chunks", 0) for meta in files.values()),
        created=manifest.get("created"),
        chunking=manifest.get("chunking", {}),
        skipped=tuple(manifest.get("skipped", ())),
        corpus_dir=manifest.get("corpus_dir"),
    )


def open_store(location: str | Path, embedder_id: str | None = None) -> Store:
    """The store at ``location``: a folder, or a ``postgresql://`` URL."""
    if is_pg_url(location):
        from .pg_store import open_pg_store  # psycopg is loaded only for a PostgreSQL store

        return open_pg_store(str(location), embedder_id)
    return load_store(Path(location), embedder_id)
