"""Writes one file's document, pages, chunks and term counts to the PostgreSQL store, in the
caller's transaction (``PgStore`` in pg_store.py reads them)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np
import psycopg

from kilde.errors import IndexMismatchError
from kilde.text import analyze
from kilde.types import Chunk, DocInfo, Page

from .pg_schema import set_dimension


class PgWriter:
    """Implements ``StoreWriter`` on a connection whose transaction the caller holds: each
    ``upsert_file``/``delete_file`` runs in the caller's transaction, and the caller commits
    one file at a time, so each file is replaced atomically. ``publish`` records the run."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def check(self, embedder: dict, chunking: dict) -> None:
        """Refuse to add to a store built with another embedder or chunking."""
        built_with, built_chunking, docs = self.conn.execute(
            "SELECT embedder_id, chunking, (SELECT count(*) FROM documents) FROM kilde_meta"
        ).fetchone()
        if docs and (built_with != embedder["id"] or built_chunking != chunking):
            raise IndexMismatchError(
                f"lageret er bygd med {built_with} {json.dumps(built_chunking)}, ikke "
                f"{embedder['id']} {json.dumps(chunking)}; bruk en ny database, eller de samme "
                "innstillingene"
            )

    def record(self, embedder: dict, chunking: dict, corpus_dir: str) -> None:
        """Record embedder and chunking (the vector column takes the embedder's dimension).
        Call it last in the planning transaction: it locks the meta row, which every file
        transaction updates as it commits."""
        set_dimension(self.conn, embedder["dim"])
        self.conn.execute(
            "UPDATE kilde_meta SET embedder_id = %s, embedder_spec = %s, embedder_dim = %s, "
            "chunking = %s, corpus_dir = %s, generation = generation + 1",
            (embedder["id"], embedder.get("spec"), embedder["dim"], json.dumps(chunking),
             corpus_dir),
        )  # fmt: skip

    def upsert_file(
        self,
        doc: DocInfo,
        pages: Sequence[Page],
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        index_texts: Sequence[str],
        title_from_catalog: bool = False,
    ) -> None:
        conn = self.conn
        conn.execute("DELETE FROM documents WHERE file = %s", (doc.file,))
        conn.execute(
            "INSERT INTO documents (file, title, publisher, date, year, pages, paged, sha256, "
            "title_from_catalog) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (doc.file, doc.title, doc.publisher, doc.date, doc.year, doc.pages, doc.paged,
             doc.sha256, title_from_catalog),
        )  # fmt: skip
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO pages (file, ord, page, page_label, text, line_map, ocr) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (p.file, n, p.page, p.page_label, p.text, json.dumps(p.line_map), p.ocr)
                    for n, p in enumerate(pages)
                ],
            )
            chunk_rows, term_rows = [], []
            for n, (c, text, vector) in enumerate(zip(chunks, index_texts, vectors, strict=True)):
                terms = analyze(text)
                chunk_rows.append(
                    (c.chunk_id, c.file, n, c.title, c.page, c.page_label, c.start, c.end,
                     c.text, c.line_start, c.line_end, c.heading, text,
                     max(len(terms), 1),  # bm25s gives a text without terms one token too
                     sorted(set(analyze(c.text))), np.asarray(vector, dtype=np.float32), c.ocr)
                )  # fmt: skip
                length = max(len(terms), 1)
                term_rows.extend((t, c.chunk_id, tf, length) for t, tf in Counter(terms).items())
            with cur.copy(
                "COPY chunks (chunk_id, file, ord, title, page, page_label, start_at, end_at, "
                "text, line_start, line_end, heading, index_text, n_terms, text_terms, "
                "embedding, ocr) FROM STDIN"
            ) as copy:
                for row in chunk_rows:
                    copy.write_row(row)
            with cur.copy("COPY chunk_terms (term, chunk_id, tf, dl) FROM STDIN") as copy:
                for row in term_rows:
                    copy.write_row(row)

    def delete_file(self, file: str) -> None:
        self.conn.execute("DELETE FROM documents WHERE file = %s", (file,))

    def bump(self) -> None:
        """Mark a change, last in a transaction (readers' caches key on the generation)."""
        self.conn.execute("UPDATE kilde_meta SET generation = generation + 1")

    def publish(self, skipped: Sequence[str] = ()) -> None:
        self.conn.execute(
            "UPDATE kilde_meta SET skipped = %s, created = %s, generation = generation + 1",
            (json.dumps(list(skipped), ensure_ascii=False), time.time()),
        )
