"""Load on ``kilde serve`` over PostgreSQL while an ingest of new files runs (issue 15).

    python bench/pg_load_ingest.py [--workers 2] [--clients 32] [--new-files 12]

Ingests corpus/ into a fresh store, starts ``kilde serve``, then adds new files (NorQuAD
train passages, one per file) to the corpus folder and runs ``kilde ingest`` on it while
32 clients ask: the gold questions and the new files' own questions, in turn, until the
ingest ends. Then it checks every answer given during the ingest against the final store:
each cited quote stands in its page, and every passage an answer was built on is a chunk of
the final store (a half-written document would show as a passage the store does not hold,
or a document with fewer chunks than it ends with).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_bench import CORPUS, gold_questions, new_db, pct, rss_mb, start_serve  # noqa: E402

NORQUAD_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "norquad" / "train.json"


def new_documents(n: int) -> list[tuple[str, str, list[str]]]:
    """(file name, text, questions) of ``n`` NorQuAD train passages."""
    data = json.loads(NORQUAD_TRAIN.read_text(encoding="utf-8"))["data"]
    out = []
    for i, article in enumerate(data[:n]):
        paragraph = article["paragraphs"][0]
        questions = [qa["question"] for qa in paragraph["qas"]]
        out.append((f"nytt_{i:03d}.txt", paragraph["context"], questions))
    return out


def ask_until(port: int, questions: list[str], clients: int, done: threading.Event) -> list:
    """Ask in turn with ``clients`` threads until ``done`` is set; (latency ms, status, json)."""
    import httpx

    results: list[tuple[float, int, dict | None]] = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            while not done.is_set():
                with lock:
                    i = next(counter)
                started = time.perf_counter()
                try:
                    reply = http.post("/ask", json={"question": questions[i % len(questions)]})
                    status, body = reply.status_code, reply.json()
                except (httpx.HTTPError, ValueError):
                    status, body = 0, None
                with lock:
                    results.append(((time.perf_counter() - started) * 1000, status, body))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def check_against_final_store(url: str, answers: list[dict]) -> dict:
    """Count the answers whose citations or passages the final store does not bear out."""
    from kilde.index.pg_store import PgStore

    store = PgStore(url)
    try:
        chunk_texts: dict[str, set[str]] = {}
        bad_quotes = bad_passages = citations = passages = 0
        for body in answers:
            for c in body.get("citations", []):
                citations += 1
                page = store.page_text(c["file"], c["page"]) or ""
                bad_quotes += " ".join(c["quote"].split()) not in " ".join(page.split())
            for r in body.get("retrieved", []):
                passages += 1
                if r["file"] not in chunk_texts:
                    chunk_texts[r["file"]] = {c.text for c in store.file_chunks(r["file"])}
                bad_passages += r["text"] not in chunk_texts[r["file"]]
    finally:
        store.close()
    return {
        "citations": citations,
        "quotes_not_in_final_page": bad_quotes,
        "passages": passages,
        "passages_not_in_final_store": bad_passages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="kilde serve workers")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--new-files", type=int, default=12)
    args = parser.parse_args()
    import signal

    from kilde.index.pg_local import LocalPostgres, free_port

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = LocalPostgres(fast=False).start()
    corpus = Path(tempfile.mkdtemp(prefix="pgbench-live-"))
    try:
        for path in CORPUS.iterdir():
            shutil.copy(path, corpus / path.name)
        url = new_db(server, "bench_load_ingest")
        ingest = [sys.executable, "-m", "kilde.app.cli", "ingest", str(corpus), "--store", url]
        subprocess.run([*ingest, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        serve = start_serve(url, args.workers, port)
        try:
            documents = new_documents(args.new_files)
            questions = gold_questions()
            new_questions = [q for _, _, qs in documents for q in qs]
            mixed = [q for pair in zip(questions, new_questions * 5, strict=False) for q in pair]
            for name, text, _ in documents:
                (corpus / name).write_text(text, encoding="utf-8")
            done = threading.Event()
            started = time.perf_counter()
            running = subprocess.Popen([*ingest, "--quiet", "--json"], stdout=subprocess.PIPE)
            waiter = threading.Thread(target=lambda: (running.communicate(), done.set()))
            waiter.start()
            results = ask_until(port, mixed, args.clients, done)
            waiter.join()
            wall = time.perf_counter() - started
            latencies = [r[0] for r in results]
            errors = sum(1 for r in results if r[1] != 200)
            print(
                f"load during ingest: {len(results)} asks in {wall:.1f} s "
                f"({len(results) / wall:.1f}/s), {errors} errors, "
                f"ingest exit {running.returncode}; "
                f"p50 {pct(latencies, 50):.0f} ms, p95 {pct(latencies, 95):.0f} ms, "
                f"p99 {pct(latencies, 99):.0f} ms"
            )
            answers = [r[2] for r in results if r[1] == 200 and r[2]]
            new_cited = sum(
                1
                for body in answers
                if any(c["file"].startswith("nytt_") for c in body.get("citations", []))
            )
            print(f"answers citing a new file (written during the load): {new_cited}")
            checked = check_against_final_store(url, answers)
            print(f"checked against the final store: {json.dumps(checked)}")
            print(f"serve RSS: {rss_mb(serve.pid):.0f} MB ({args.workers} workers)")
        finally:
            serve.terminate()
            serve.wait(30)
    finally:
        shutil.rmtree(corpus, ignore_errors=True)
        server.remove()


if __name__ == "__main__":
    main()
