"""A kilde store in PostgreSQL (pgvector + full text), for many users and processes at once.

Readers query the database on each call; nothing is loaded into memory but small caches,
so any number of API workers can share one store. Each file is written in one transaction
(``PgWriter``, pg_writer.py), so a reader sees a document's old or new version, never a mix
or a gap.

Lexical search computes BM25 in SQL from per-chunk term counts analysed by kilde's own
Norwegian analyser (the same formula and parameters as bm25s, method "lucene"), so that
scores equal the local store's. ``lexical="ts_rank_cd"`` ranks with PostgreSQL's own
``norwegian`` text search instead (see bench/pg_bench.py for how the two compare).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from kilde.errors import IndexMismatchError, IndexMissingError, KildeError
from kilde.text import analyze
from kilde.types import Chunk, DocInfo, Filters, Page

from .interface import IndexStatus, ScoredIds, TermStats
from .pg_schema import migrate, one_line, redact

BM25_K1, BM25_B = 1.5, 0.75  # bm25s defaults, as the local store uses
CHUNK_COLUMNS = (
    "c.chunk_id, c.file, c.title, c.page, c.page_label, c.start_at, c.end_at, c.text, "
    "c.line_start, c.line_end, c.heading, c.ocr"
)


def _chunk(row: Sequence) -> Chunk:
    return Chunk(*row)


def _array(value) -> np.ndarray:
    """A stored ``vector`` as float32 (pgvector hands out Vector objects or arrays)."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, np.float32)


def connect_pool(url: str, max_size: int = 8) -> ConnectionPool:
    """A pool whose connections know the ``vector`` type; creates/migrates the schema."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            migrate(conn)
    except psycopg.OperationalError as exc:
        raise KildeError(
            f"fikk ikke kontakt med PostgreSQL på {redact(url)}: {one_line(exc)}"
        ) from exc

    def configure(conn: psycopg.Connection) -> None:
        register_vector(conn)
        conn.commit()

    pool = ConnectionPool(url, min_size=1, max_size=max_size, configure=configure, open=False)
    pool.open(wait=True, timeout=30)
    return pool


def filter_sql(filters: Filters | None) -> tuple[str, dict]:
    """A WHERE clause over ``documents d`` for ``filters`` ("" when nothing is filtered)."""
    if filters is None or filters.is_empty():
        return "", {}
    clauses, params = [], {}
    if filters.files:
        clauses.append("d.file = ANY(%(f_files)s)")
        params["f_files"] = list(filters.files)
    if filters.publishers:
        clauses.append("d.publisher = ANY(%(f_pubs)s)")
        params["f_pubs"] = list(filters.publishers)
    if filters.year_from:
        clauses.append("d.year >= %(f_from)s")
        params["f_from"] = filters.year_from
    if filters.year_to:
        clauses.append("d.year <= %(f_to)s")
        params["f_to"] = filters.year_to
    return " AND ".join(clauses), params


class PgStore:
    """Implements ``Store`` over a PostgreSQL database."""

    # HNSW search list (at least k). pg_bench scale, random vectors (the worst case), recall@10
    # at 10,000 chunks: ef 40: 0.32, 100: 0.58, 200: 0.78, 400: 0.94 (p50 5, 8, 12, 16 ms;
    # exact 60 ms). Vectors shaped like real ones: 1.00 already at 40.
    ef_search_floor = 100

    def __init__(self, url: str, pool: ConnectionPool | None = None, lexical: str = "bm25"):
        if lexical not in ("bm25", "ts_rank_cd"):
            raise ValueError(lexical)
        self.url = url
        self.lexical = lexical
        self.pool = pool or connect_pool(url)
        self._meta = self._read_meta()
        self._recent: OrderedDict[str, Chunk] = OrderedDict()  # rows the last searches saw
        self._lock = threading.Lock()
        self._term_stats: tuple[int, TermStats] | None = None

    def close(self) -> None:
        self.pool.close()

    def _read_meta(self) -> dict:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT generation, embedder_id, embedder_spec, embedder_dim, chunking, "
                "corpus_dir, skipped, created FROM kilde_meta"
            ).fetchone()
        keys = ("generation", "embedder_id", "embedder_spec", "embedder_dim", "chunking")
        return dict(zip((*keys, "corpus_dir", "skipped", "created"), row, strict=True))

    def generation(self) -> int:
        with self.pool.connection() as conn:
            return conn.execute("SELECT generation FROM kilde_meta").fetchone()[0]

    # -- Store -------------------------------------------------------------------------

    @property
    def embedder_id(self) -> str:
        return self._meta["embedder_id"]

    @property
    def embedder_spec(self) -> str | None:
        return self._meta["embedder_spec"]

    @property
    def chunking(self) -> dict:
        return self._meta["chunking"] or {}

    def status(self) -> IndexStatus:
        self._meta = self._read_meta()
        with self.pool.connection() as conn:
            docs, pages = conn.execute(
                "SELECT count(*), coalesce(sum(pages), 0) FROM documents"
            ).fetchone()
            # Kept by triggers (schema 3): a count(*) would scan every chunk, per question.
            chunks = conn.execute("SELECT n_chunks FROM corpus_totals").fetchone()[0]
        m = self._meta
        return IndexStatus(
            location=redact(self.url),
            generation=str(m["generation"]),
            embedder_id=m["embedder_id"],
            embedder_spec=m["embedder_spec"],
            embedder_dim=m["embedder_dim"],
            documents=docs,
            pages=int(pages),
            chunks=chunks,
            created=m["created"],
            chunking=m["chunking"] or {},
            skipped=tuple(m["skipped"] or ()),
            corpus_dir=m["corpus_dir"],
        )

    def documents(self) -> dict[str, DocInfo]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT file, title, publisher, date, pages, paged, sha256 FROM documents "
                "ORDER BY file"
            ).fetchall()
        return {r[0]: DocInfo(*r) for r in rows}

    def titles_from_catalog(self) -> dict[str, bool]:
        with self.pool.connection() as conn:
            return dict(conn.execute("SELECT file, title_from_catalog FROM documents").fetchall())

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> ScoredIds:
        where, params = filter_sql(filters)
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        params.update(q=query, k=k)
        sql = (
            f"SELECT {CHUNK_COLUMNS}, 1 - (c.embedding <=> %(q)s) AS score FROM chunks c "
            + ("JOIN documents d ON d.file = c.file WHERE " + where if where else "")
            + " ORDER BY c.embedding <=> %(q)s LIMIT %(k)s"
        )
        with self.pool.connection() as conn, conn.transaction():
            # HNSW returns at most ef_search rows. A filtered search is exact: the planner
            # would otherwise filter HNSW's candidates after the fact and miss some.
            ef = min(max(int(k), self.ef_search_floor), 1000)
            conn.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            if where:
                conn.execute("SET LOCAL enable_indexscan = off")
            rows = conn.execute(sql, params).fetchall()
        return self._remember(rows)

    def lexical_search(self, query: str, k: int, filters: Filters | None = None) -> ScoredIds:
        if self.lexical == "ts_rank_cd":
            return self._ts_rank_search(query, k, filters)
        terms = analyze(query)
        if not terms or k <= 0:
            return []
        where, params = filter_sql(filters)
        params.update(terms=terms, k=k, k1=BM25_K1, b=BM25_B)
        # Only a filter needs the chunk and document rows while scoring.
        filter_join = (
            "JOIN chunks c ON c.chunk_id = t.chunk_id JOIN documents d ON d.file = c.file"
            if where
            else ""
        )
        # bm25s "lucene": idf = ln(1 + (N - df + .5)/(df + .5)) times
        # tf/(tf + k1(1 - b + b dl/avgdl)), summed over the query's terms (a repeated term
        # counts again); N and df over all chunks, as bm25s scores before filtering.
        sql = f"""
            WITH q AS (SELECT term, count(*) AS qn FROM unnest(%(terms)s::text[]) term
                       GROUP BY term),
                 stats AS (SELECT n_chunks::float8 AS n,
                                  total_terms::float8 / greatest(n_chunks, 1) AS avgdl
                           FROM corpus_totals),
                 df AS (SELECT t.term, count(*)::float8 AS df FROM chunk_terms t
                        JOIN q USING (term) GROUP BY t.term),
                 scored AS (
                    SELECT t.chunk_id, sum(q.qn * ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
                        * t.tf / (t.tf + %(k1)s * (1 - %(b)s + %(b)s * t.dl / stats.avgdl)))
                        AS score
                    FROM chunk_terms t JOIN q USING (term) JOIN df USING (term)
                    {filter_join}
                    CROSS JOIN stats
                    {"WHERE " + where if where else ""}
                    GROUP BY t.chunk_id),
                 -- The k-th best score: only chunks scoring at least that (ties included,
                 -- so the tie-break below stays exact) are read from the wide chunks rows.
                 kth AS (SELECT score FROM scored WHERE score > 0
                         ORDER BY score DESC OFFSET %(k)s - 1 LIMIT 1),
                 top AS (SELECT * FROM scored
                         WHERE score > 0 AND score >= coalesce((SELECT score FROM kth), 0))
            SELECT {CHUNK_COLUMNS}, s.score FROM top s JOIN chunks c USING (chunk_id)
            ORDER BY s.score DESC, c.file, c.ord LIMIT %(k)s
        """
        with self.pool.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return self._remember(rows)

    def _ts_rank_search(self, query: str, k: int, filters: Filters | None) -> ScoredIds:
        where, params = filter_sql(filters)
        params.update(text=query, k=k)
        # Any of the query's lexemes may match (plainto_tsquery would demand all of them).
        sql = f"""
            WITH q AS (SELECT nullif(replace(plainto_tsquery('norwegian', %(text)s)::text,
                                             ' & ', ' | '), '')::tsquery AS q)
            SELECT {CHUNK_COLUMNS}, ts_rank_cd(c.tsv, q.q) AS score FROM chunks c CROSS JOIN q
            {"JOIN documents d ON d.file = c.file" if where else ""}
            WHERE c.tsv @@ q.q {"AND " + where if where else ""}
            ORDER BY score DESC, c.file, c.ord LIMIT %(k)s
        """
        with self.pool.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return self._remember([r for r in rows if r[-1] > 0])

    def _remember(self, rows: list) -> ScoredIds:
        """Keep the chunks a search returned, so that ``get_chunks`` right after it reads
        the same version (a file may be replaced in between) without another round trip."""
        with self._lock:
            for row in rows:
                self._recent[row[0]] = _chunk(row[:-1])
                self._recent.move_to_end(row[0])
            while len(self._recent) > 4096:
                self._recent.popitem(last=False)
        return [(row[0], float(row[-1])) for row in rows]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        with self._lock:
            found = {i: self._recent[i] for i in chunk_ids if i in self._recent}
        missing = [i for i in chunk_ids if i not in found]
        if missing:
            with self.pool.connection() as conn:
                rows = conn.execute(
                    f"SELECT {CHUNK_COLUMNS} FROM chunks c WHERE c.chunk_id = ANY(%s)", (missing,)
                ).fetchall()
            found.update((r[0], _chunk(r)) for r in rows)
        return [found[i] for i in chunk_ids]

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """One row per id; a chunk replaced since it was retrieved gets a zero row."""
        dim = self._meta["embedder_dim"] or 0
        out = np.zeros((len(chunk_ids), dim), dtype=np.float32)
        if not chunk_ids:
            return out
        with self.pool.connection() as conn:
            rows = dict(
                conn.execute(
                    "SELECT chunk_id, embedding FROM chunks WHERE chunk_id = ANY(%s)",
                    (list(chunk_ids),),
                ).fetchall()
            )
        for n, chunk_id in enumerate(chunk_ids):
            if chunk_id in rows:
                out[n] = _array(rows[chunk_id])
        return out

    def file_chunks(self, file: str) -> list[Chunk]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks c WHERE c.file = %s ORDER BY c.ord", (file,)
            ).fetchall()
        return [_chunk(r) for r in rows]

    def file_vectors(self, file: str) -> np.ndarray:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT embedding FROM chunks WHERE file = %s ORDER BY ord", (file,)
            ).fetchall()
        dim = self._meta["embedder_dim"] or 0
        return np.array([_array(r[0]) for r in rows], dtype=np.float32).reshape(-1, dim)

    def file_pages(self, file: str) -> list[Page]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT file, page, page_label, text, line_map, ocr FROM pages WHERE file = %s "
                "ORDER BY ord",
                (file,),
            ).fetchall()
        return [Page(*r[:4], tuple(tuple(pair) for pair in r[4]), r[5]) for r in rows]

    def line_map(self, file: str, page: int | None) -> tuple[tuple[int, int], ...]:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT line_map FROM pages WHERE file = %s AND page IS NOT DISTINCT FROM %s "
                "ORDER BY ord LIMIT 1",
                (file, page),
            ).fetchone()
        return tuple(tuple(pair) for pair in row[0]) if row else ()

    def texts(self) -> Iterator[str]:
        # A server-side cursor in batches: the whole corpus's text never sits in this
        # process at once (the API's memory must not grow with the corpus).
        with self.pool.connection() as conn, conn.transaction():
            with conn.cursor(name="kilde_texts") as cursor:
                cursor.itersize = 2000
                cursor.execute("SELECT text FROM chunks")
                for (text,) in cursor:
                    yield text

    def page_text(self, file: str, page: int | None) -> str | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT text FROM pages WHERE file = %s AND page IS NOT DISTINCT FROM %s "
                "ORDER BY ord LIMIT 1",
                (file, page),
            ).fetchone()
        return row[0] if row else None

    def term_stats(self) -> TermStats:
        generation = self.generation()
        if self._term_stats is None or self._term_stats[0] != generation:
            with self.pool.connection() as conn:
                n = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
                rows = conn.execute(
                    "SELECT t, count(*) FROM chunks, unnest(text_terms) t GROUP BY t"
                ).fetchall()
            self._term_stats = (generation, TermStats(chunks=n, df=dict(rows)))
        return self._term_stats[1]


def open_pg_store(url: str, embedder_id: str | None = None, lexical: str = "bm25") -> PgStore:
    store = PgStore(url, lexical=lexical)
    if store.embedder_id is None:
        store.close()
        raise IndexMissingError(
            f"ingen indeks i {redact(url)}; bygg en med: kilde ingest CORPUS --store URL"
        )
    if embedder_id is not None and store.embedder_id != embedder_id:
        store.close()
        raise IndexMismatchError(
            f"lageret {redact(url)} er bygd med {store.embedder_id}, ikke {embedder_id}"
        )
    return store


_STATUS_STORES: dict[str, PgStore] = {}


def shared_store(url: str) -> PgStore:
    """One small store per URL and process, for the app's every rerun (status, feedback):
    the store, and its connection pool, are opened once."""
    store = _STATUS_STORES.get(url)
    if store is None:
        store = _STATUS_STORES[url] = PgStore(url, pool=connect_pool(url, max_size=2))
    return store


def status_of(url: str) -> IndexStatus | None:
    """The store's status, None when it holds no index."""
    status = shared_store(url).status()
    return status if status.embedder_id else None
