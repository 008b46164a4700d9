"""Reader latency, warm, in process: one question against 20 and 60 candidates.

    .venv/bin/python bench/reader_bench.py [--reader models/reader] [--repeats 10]

Candidates are NorQuAD-like Norwegian sentences of about 50 tokens each (the question-and-
candidate input the engine sees is about 70 tokens). Prints the median and the best time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from kilde.reader.infer import Reader

SENTENCE = (
    "Kommunen har i {i} år brukt om lag {i}0 millioner kroner på drift av det nye "
    "journalsystemet, og helsepersonell oppgir at tilgangen til opplysninger om pasienten "
    "er blitt bedre, men at innloggingen tar for lang tid."
)
QUESTION = "Hvor mye har kommunen brukt på drift av journalsystemet?"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reader", default="models/reader")
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    reader = Reader.load(args.reader)
    tokens = reader._engine.token_count(f"{QUESTION} passage: {SENTENCE.format(i=3)}", True)
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, input tokens ~{tokens}")
    for n in (20, 60):
        cands = [SENTENCE.format(i=i) for i in range(n)]
        reader.score(QUESTION, cands)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            reader.score(QUESTION, cands)
            times.append(time.perf_counter() - start)
        print(f"{n} candidates: median {statistics.median(times) * 1000:.0f} ms, "
              f"best {min(times) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
