"""Training items from kilde's own pipeline: ``python -m kilde.reader.mine``.

The in-domain items of ``kilde.reader.data`` put a question's evidence sentence among other
sentences of the same file. In kilde the reader sees something else: the rules answerer's
best sentences from the retrieved passages of several documents. This runs the real
pipeline (hybrid retrieval over the corpus index that ``kilde eval`` builds, the rules
answerer's candidates) over training questions and writes what the reader would read, so
that it also learns on the candidates it meets at inference. Positives are the candidates
that hold a gold answer alias or overlap a gold quote (the eval's own citation check).
Unanswerable questions keep their candidates with no positive: they train "no answer" on
near misses from retrieval. Answerable questions whose answer was not retrieved are left
out. Only train/data goes in here, never eval/gold.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm


def mine(
    gold_files: list[Path], pipe, out: Path, candidates: int, context: str = "none"
) -> dict[str, int]:
    """Write one JSON line per usable training question to ``out``; return the counts.
    ``pipe`` is kilde's pipeline (``Engine.pipeline``); the candidates are its rules
    answerer's, which the reader answerer also reads from, written as a reader trained with
    ``--context context`` reads them."""
    from kilde.answer.reader import reader_texts
    from kilde.eval.gold import load_gold
    from kilde.eval.metrics import citation_correct

    rules = getattr(pipe.answerer, "rules", pipe.answerer)  # the reader wraps the rules
    items = [item for path in gold_files for item in load_gold(path) if item.split == "train"]
    counts = {"questions": len(items), "answerable": 0, "unanswerable": 0, "not_retrieved": 0}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as sink:
        for item in tqdm(items, desc="kandidater", unit="spørsmål"):
            query, retrieved = pipe.retrieve(item.question)
            ranked = rules.candidates(item.question, query, retrieved)[:candidates]
            positives = [
                i
                for i, c in enumerate(ranked)
                if item.answerable
                and citation_correct(item, {"file": c.retrieved.chunk.file, "quote": c.text})
            ]
            if item.answerable and not positives:
                counts["not_retrieved"] += 1
                continue
            if not ranked:
                continue
            counts["answerable" if item.answerable else "unanswerable"] += 1
            texts = reader_texts(ranked, context)
            row = {"question": query, "candidates": texts, "positives": positives}
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    return counts


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-data", type=Path, default=Path("train/data"))
    p.add_argument("--corpus", type=Path, default=Path("corpus"))
    p.add_argument("--out", type=Path, default=Path(".kilde/reader/pipeline-items.jsonl"))
    p.add_argument("--candidates", type=int, default=12, help="the rules' top N sentences")
    p.add_argument(
        "--context", choices=("none", "previous", "marked"), default="none", help="as the trainer's"
    )
    args = p.parse_args(argv)
    files = sorted(args.train_data.glob("kilde-train-*.jsonl"))
    from kilde.config import Settings
    from kilde.eval.runner import eval_engine

    # The index `kilde eval` builds of the corpus, shared with it.
    engine, _ = eval_engine(args.corpus, Settings().with_values(answerer="rules"))
    print(json.dumps(mine(files, engine.pipeline, args.out, args.candidates, args.context)))


if __name__ == "__main__":
    main()
