"""Incremental ingest into a PostgreSQL store, safe with several ingest processes at once.

1. Plan (under an advisory lock; a second ingest waits here): every corpus file gets a row in
   ``ingest_claims`` keyed by its sha256 and catalog entry. A file whose key changed is marked
   ``todo``; files gone from the corpus are deleted. A PDF's key includes the OCR settings
   (``OcrOptions.signature``), so other OCR settings re-read the PDFs, as the folder ingest
   does; a file skipped before is tried again, as the folder ingest tries it on every run.
2. Work: each process takes one ``todo`` claim at a time with ``FOR UPDATE SKIP LOCKED``,
   reads, chunks and embeds the file, replaces it and marks the claim ``done`` in the same
   transaction. A claim is held by one process only, so nothing is embedded twice; a crash
   (of kilde or of PostgreSQL) rolls the file's transaction back and leaves its claim
   ``todo`` for the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from pathlib import Path

import psycopg
from tqdm import tqdm

from kilde.errors import KildeError, SkipFile
from kilde.ingest.catalog import load_catalog
from kilde.ingest.chunk import Chunker, ChunkingParams
from kilde.ingest.ocr import OcrOptions, PageOcr
from kilde.ingest.readers import iter_sources

from .build import IngestReport, embed_chunks, read_entry, record_ocr, sha256_file
from .embedders import Embedder
from .pg_schema import LOCK_PLAN, migrate, one_line, redact
from .pg_writer import PgWriter


def claim_key(sha: str, entry, ocr: dict | None = None) -> str:
    """What a file's stored version depends on: its bytes, its catalog entry (the title
    is embedded with every chunk) and, for a PDF, the OCR settings' ``signature()``."""
    catalog = "" if entry is None else f"{entry.title}|{entry.publisher}|{entry.date}"
    read_with = "" if ocr is None else "|" + json.dumps(ocr, sort_keys=True)
    return hashlib.sha1(f"{sha}|{catalog}{read_with}".encode()).hexdigest()


def ingest_pg(
    corpus_dir: Path,
    url: str,
    embedder: Embedder,
    params: ChunkingParams,
    report: IngestReport,
    progress: bool = True,
    embedder_spec: str | None = None,
    ocr: OcrOptions | None = None,
) -> None:
    try:
        connection = psycopg.connect(url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise KildeError(
            f"fikk ikke kontakt med PostgreSQL på {redact(url)}: {one_line(exc)}"
        ) from exc
    try:
        with connection as conn:
            conn.autocommit = True
            migrate(conn)
            conn.autocommit = False
            from pgvector.psycopg import register_vector

            register_vector(conn)
            conn.commit()
            _run(conn, corpus_dir, embedder, params, report, progress, embedder_spec,
                 ocr or OcrOptions())  # fmt: skip
    except psycopg.OperationalError as exc:
        raise KildeError(
            f"mistet forbindelsen til PostgreSQL på {redact(url)} ({one_line(exc)}); "
            "filene som ble ferdige er lagret, kjør innlesingen på nytt for resten"
        ) from exc


def _run(
    conn: psycopg.Connection,
    corpus_dir: Path,
    embedder: Embedder,
    params: ChunkingParams,
    report: IngestReport,
    progress: bool,
    embedder_spec: str | None,
    ocr: OcrOptions,
) -> None:
    writer = PgWriter(conn)
    catalog = load_catalog(corpus_dir)
    sources = {p.relative_to(corpus_dir).as_posix(): p for p in iter_sources(corpus_dir)}
    keys = {
        rel: claim_key(
            sha256_file(p),
            catalog.get(rel),
            ocr.signature() if p.suffix.lower() == ".pdf" else None,
        )
        for rel, p in sources.items()
    }
    with conn.transaction():
        if not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK_PLAN,)).fetchone()[0]:
            print("kilde: en annen innlesing planlegger; venter på den", file=sys.stderr)
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_PLAN,))
        described = {"id": embedder.id, "dim": embedder.dim, "spec": embedder_spec}
        writer.check(described, params.as_dict())
        # Claim rows first, the meta row last: a working process holds its claim row and
        # then updates the meta row, so the reverse order here could deadlock.
        conn.execute("DELETE FROM ingest_claims WHERE NOT file = ANY(%s)", (list(sources),))
        with conn.cursor() as cur:
            # A claim another process holds is waited for, then left alone if its key is ours
            # and it was not skipped (a skipped file may read now: Tesseract installed, say).
            cur.executemany(
                "INSERT INTO ingest_claims (file, key, state) VALUES (%s, %s, 'todo') "
                "ON CONFLICT (file) DO UPDATE SET key = excluded.key, state = 'todo', "
                "note = NULL, updated = now() "
                "WHERE ingest_claims.key <> excluded.key OR ingest_claims.state = 'skipped'",
                sorted(keys.items()),
            )
        gone = conn.execute(
            "DELETE FROM documents WHERE NOT file = ANY(%s) RETURNING file", (list(sources),)
        ).fetchall()
        report.removed_files = sorted(r[0] for r in gone)
        todo = conn.execute("SELECT count(*) FROM ingest_claims WHERE state = 'todo'").fetchone()
        writer.record(described, params.as_dict(), str(corpus_dir.resolve()))
    report.reused_files = max(len(sources) - todo[0], 0)

    chunker = Chunker(params, embedder.count_tokens)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    # No OCR cache: each file is read once per claim key, and a key changes with the file or
    # the OCR settings, when cached text would not be used anyway.
    page_ocr = PageOcr(ocr, None, progress)
    bar = tqdm(total=todo[0], desc="Filer", unit="fil", disable=not progress)
    embed_bar = tqdm(desc="Embedder", unit="bit", disable=not progress)
    try:
        with bar, embed_bar:
            while _work_one(conn, writer, corpus_dir, catalog, chunker, embedder, params,
                            report, worker, embed_bar, page_ocr):  # fmt: skip
                bar.update(1)
    finally:
        page_ocr.close()
    record_ocr(page_ocr, report)

    with conn.transaction():
        notes = conn.execute(
            "SELECT note FROM ingest_claims WHERE state = 'skipped' ORDER BY file"
        ).fetchall()
        writer.publish([n[0] for n in notes])
        docs, pages = conn.execute(
            "SELECT count(*), coalesce(sum(pages), 0) FROM documents"
        ).fetchone()
        report.documents, report.pages = docs, int(pages)
        report.chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    report.skipped = [n[0] for n in notes]


def _work_one(
    conn: psycopg.Connection,
    writer: PgWriter,
    corpus_dir: Path,
    catalog: dict,
    chunker: Chunker,
    embedder: Embedder,
    params: ChunkingParams,
    report: IngestReport,
    worker: str,
    embed_bar: tqdm,
    page_ocr: PageOcr,
) -> bool:
    """Take one todo claim and ingest its file in one transaction; False when none is left."""
    with conn.transaction():
        row = conn.execute(
            "SELECT file FROM ingest_claims WHERE state = 'todo' ORDER BY file "
            "FOR UPDATE SKIP LOCKED LIMIT 1"
        ).fetchone()
        if row is None:
            return False
        rel = row[0]
        path = corpus_dir / rel
        state, note = "done", None
        try:
            sha = sha256_file(path)
            entry = read_entry(path, rel, catalog, chunker, sha, report, page_ocr)
        except (SkipFile, OSError) as exc:
            entry, state = None, "skipped"
            report.skip_codes[rel] = getattr(exc, "code", "unreadable")  # for upload messages
            kept = conn.execute("SELECT 1 FROM documents WHERE file = %s", (rel,)).fetchone()
            note = str(exc) + (" (beholdt versjonen som var indeksert fra før)" if kept else "")
        if entry is None and state == "done":  # read, but no text in it
            state, note = "skipped", f"{rel}: ingen tekst å indeksere"
            writer.delete_file(rel)
        if entry is not None:
            started = time.perf_counter()
            vectors = embed_chunks(entry.chunks, embedder, params, embed_bar)
            report.embed_seconds += time.perf_counter() - started
            writer.upsert_file(
                entry.doc,
                entry.pages,
                entry.chunks,
                vectors,
                [params.index_text(c) for c in entry.chunks],
                title_from_catalog=rel in catalog,
            )
            report.embedded_files += 1
            report.embedded_chunks += len(entry.chunks)
        conn.execute(
            "UPDATE ingest_claims SET state = %s, note = %s, worker = %s, updated = now() "
            "WHERE file = %s",
            (state, note, worker, rel),
        )
        writer.bump()
    return True
