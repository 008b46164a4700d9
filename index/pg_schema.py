"""The PostgreSQL schema of a kilde store, created and migrated by kilde itself.

``kilde_schema`` holds the version; each entry of ``MIGRATIONS`` brings a store from version
n to n+1 and runs once, under an advisory lock, so that several processes opening a new
database at once do not race. The vector column gets its dimension (and its HNSW index)
from the first ingest, when the embedder is known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # psycopg is imported only where a PostgreSQL store is used
    import psycopg

# Advisory lock keys (any two bigints unlikely to clash with other users of the database).
LOCK_SCHEMA = 0x6B696C6465_01
LOCK_PLAN = 0x6B696C6465_02

MIGRATIONS: list[str] = [
    # 1: documents, pages, chunks (+ tsvector, vector, BM25 terms), ingest claims, meta.
    """
    CREATE EXTENSION IF NOT EXISTS vector;
    CREATE TABLE kilde_meta (
        id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        generation bigint NOT NULL DEFAULT 0,
        embedder_id text, embedder_spec text, embedder_dim int,
        chunking jsonb, corpus_dir text,
        skipped jsonb NOT NULL DEFAULT '[]',
        created double precision
    );
    INSERT INTO kilde_meta (id) VALUES (1);
    CREATE TABLE documents (
        file text PRIMARY KEY,
        title text NOT NULL,
        publisher text,
        date text,
        year int,
        pages int NOT NULL,
        paged boolean NOT NULL,
        sha256 text NOT NULL,
        title_from_catalog boolean NOT NULL DEFAULT false
    );
    CREATE INDEX documents_publisher ON documents (publisher);
    CREATE INDEX documents_year ON documents (year);
    CREATE TABLE pages (
        file text NOT NULL REFERENCES documents ON DELETE CASCADE,
        ord int NOT NULL,
        page int,
        page_label text,
        text text NOT NULL,
        PRIMARY KEY (file, ord)
    );
    CREATE TABLE chunks (
        chunk_id text PRIMARY KEY,
        file text NOT NULL REFERENCES documents ON DELETE CASCADE,
        ord int NOT NULL,
        title text NOT NULL,
        page int,
        page_label text,
        start_at int NOT NULL,
        end_at int NOT NULL,
        text text NOT NULL,
        line_start int,
        line_end int,
        heading text,
        index_text text NOT NULL,
        n_terms int NOT NULL,
        text_terms text[] NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('norwegian', index_text)) STORED,
        embedding vector NOT NULL
    );
    CREATE INDEX chunks_file ON chunks (file, ord);
    CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
    CREATE TABLE chunk_terms (
        term text NOT NULL,
        chunk_id text NOT NULL REFERENCES chunks ON DELETE CASCADE,
        tf int NOT NULL,
        PRIMARY KEY (term, chunk_id)
    );
    CREATE INDEX chunk_terms_chunk ON chunk_terms (chunk_id);
    CREATE TABLE ingest_claims (
        file text PRIMARY KEY,
        key text NOT NULL,
        state text NOT NULL,
        note text,
        worker text,
        updated timestamptz NOT NULL DEFAULT now()
    );
    """,
    # 2: line maps back to the file's lines (line citations), and the OCR mark.
    """
    ALTER TABLE pages ADD COLUMN line_map jsonb NOT NULL DEFAULT '[]';
    ALTER TABLE pages ADD COLUMN ocr boolean NOT NULL DEFAULT false;
    ALTER TABLE chunks ADD COLUMN ocr boolean NOT NULL DEFAULT false;
    """,
    # 3: BM25's corpus totals without a scan of chunks (N and the mean length were a full
    # scan per query: 1.1 s at 200,000 chunks). Triggers keep them in the writing
    # transaction, so a reader's snapshot sees totals that match the chunks it sees. Each
    # term row carries its chunk's length, and the key index covers tf and length, so a
    # term's postings are read from the index alone, never from the wide chunks rows.
    """
    CREATE TABLE corpus_totals (n_chunks bigint NOT NULL, total_terms bigint NOT NULL);
    INSERT INTO corpus_totals SELECT count(*), coalesce(sum(n_terms), 0) FROM chunks;
    CREATE FUNCTION kilde_chunks_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE corpus_totals SET n_chunks = n_chunks + (SELECT count(*) FROM added),
            total_terms = total_terms + (SELECT coalesce(sum(n_terms), 0) FROM added);
        RETURN NULL;
    END $$;
    CREATE FUNCTION kilde_chunks_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE corpus_totals SET n_chunks = n_chunks - (SELECT count(*) FROM removed),
            total_terms = total_terms - (SELECT coalesce(sum(n_terms), 0) FROM removed);
        RETURN NULL;
    END $$;
    CREATE TRIGGER chunks_added AFTER INSERT ON chunks REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION kilde_chunks_added();
    CREATE TRIGGER chunks_removed AFTER DELETE ON chunks REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION kilde_chunks_removed();
    ALTER TABLE chunk_terms ADD COLUMN dl int;
    UPDATE chunk_terms t SET dl = c.n_terms FROM chunks c WHERE c.chunk_id = t.chunk_id;
    ALTER TABLE chunk_terms ALTER COLUMN dl SET NOT NULL;
    ALTER TABLE chunk_terms DROP CONSTRAINT chunk_terms_pkey,
        ADD PRIMARY KEY (term, chunk_id) INCLUDE (tf, dl);
    """,
    # 4: the chat's 👍 / 👎, shared by every app server of the store (app/feedback.py).
    """
    CREATE TABLE feedback (
        id bigserial PRIMARY KEY,
        created timestamptz NOT NULL DEFAULT now(),
        record jsonb NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def is_pg_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def one_line(exc: BaseException) -> str:
    """A driver error as one line (libpq's messages span several)."""
    return " ".join(str(exc).split())


def redact(url: str) -> str:
    """The URL without its password, for messages and ``/health``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


def migrate(conn: psycopg.Connection) -> int:
    """Bring the schema to ``SCHEMA_VERSION``; returns the version found before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_SCHEMA,))
        exists = conn.execute("SELECT to_regclass('kilde_schema') IS NOT NULL").fetchone()[0]
        if not exists:
            conn.execute("CREATE TABLE kilde_schema (version int NOT NULL)")
            conn.execute("INSERT INTO kilde_schema VALUES (0)")
        found = conn.execute("SELECT version FROM kilde_schema").fetchone()[0]
        if found > SCHEMA_VERSION:
            from kilde.errors import IndexMismatchError

            raise IndexMismatchError(
                f"lageret har skjemaversjon {found}, denne kilde leser {SCHEMA_VERSION}; "
                "oppgrader kilde"
            )
        for version in range(found, SCHEMA_VERSION):
            conn.execute(MIGRATIONS[version])
            conn.execute("UPDATE kilde_schema SET version = %s", (version + 1,))
    return found


def set_dimension(conn: psycopg.Connection, dim: int) -> None:
    """Give the vector column its dimension and build the HNSW index (first ingest only)."""
    typmod = conn.execute(
        "SELECT atttypmod FROM pg_attribute "
        "WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
    ).fetchone()[0]
    if typmod == dim:
        return
    conn.execute(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({int(dim)})")
    conn.execute("DROP INDEX IF EXISTS chunks_embedding")
    conn.execute("CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)")
