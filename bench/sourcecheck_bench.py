"""Time of the source check (``kilde cite``) on a 20-statement draft, and what dominates.

    .venv/bin/python bench/sourcecheck_bench.py --index .kilde/index [--runs 3]

The draft is 20 statements of the statements gold set (supported, mismatch and not-found
alike), one paragraph of four sentences each. Reported: the cold wall time of
``kilde cite DRAFT --index DIR`` as a subprocess (model load and index open included), the warm
in-process time of ``check_draft`` (median of ``--runs``, query cache emptied before each), and
its breakdown: query embedding, retrieval without the embedding, and sentence comparison.
The load average is printed beside it, since the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold" / "statements.jsonl"
TARGET_S = 20.0


def draft_of(n: int) -> str:
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line]
    picked = [r["statement"] for r in rows[::3]][:n]
    paragraphs = [" ".join(picked[i : i + 4]) for i in range(0, len(picked), 4)]
    return "\n\n".join(paragraphs) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / ".kilde" / "index")
    parser.add_argument("--statements", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from kilde.answer.engine import Engine
    from kilde.answer.sourcecheck import SourceChecker, statement_spans
    from kilde.config import Settings

    draft = draft_of(args.statements)
    n = len(statement_spans(draft))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(draft)
    started = time.perf_counter()
    command = [sys.executable, "-m", "kilde.app.cli", "cite", f.name, "--index", str(args.index)]
    subprocess.run(command, check=True, capture_output=True)
    cold = time.perf_counter() - started
    os.unlink(f.name)

    engine = Engine.open(Settings().with_values(index_dir=str(args.index)))
    checker = SourceChecker.from_engine(engine)
    cache = engine.embedder._cache  # the QueryCache: emptied so each run embeds anew
    checker.check_draft(draft)  # warm-up
    warm, embed, retrieve = [], [], []
    for _ in range(args.runs):
        cache.clear()
        started = time.perf_counter()
        checker.check_draft(draft)
        warm.append(time.perf_counter() - started)
        cache.clear()
        started = time.perf_counter()
        for a, b in statement_spans(draft):
            engine.embedder.embed_query(draft[a:b])
        embed.append(time.perf_counter() - started)
        started = time.perf_counter()
        for a, b in statement_spans(draft):  # cached vectors now: retrieval without embedding
            engine.retriever.retrieve(draft[a:b], checker.settings.passages)
        retrieve.append(time.perf_counter() - started)
    w, e, r = (statistics.median(x) for x in (warm, embed, retrieve))
    print(f"statements: {n}")
    print(f"cold `kilde cite` (process, model load, index open, check): {cold:.2f} s")
    print(f"warm check_draft: {w:.2f} s ({w / n * 1000:.0f} ms per statement)")
    print(f"  query embedding:       {e:.2f} s ({e / w:.0%})")
    print(f"  retrieval (no embed):  {r:.2f} s ({r / w:.0%})")
    rest = max(w - e - r, 0.0)
    print(f"  sentence comparison:   {rest:.2f} s ({rest / w:.0%})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = cold <= TARGET_S
    print(f"target: {n} statements in <= {TARGET_S:.0f} s (cold): {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
