"""Check that the reader's training questions are kept apart from every eval item.

    .venv/bin/python train/data/check_disjoint.py [TRAIN_JSONL ...]

Default: every train/data/kilde-train-*.jsonl and train/more/kilde-train-*.jsonl (questions
written later, not in the shipped reader's training; docs/reader.md) against
eval/gold/kilde.jsonl. A training item fails when one of its quotes shares a run of 8 words
with an eval quote, lies in the same sentence as an eval quote, or when its question has
word-set Jaccard > 0.6 with an eval question. The train files are also validated against
corpus/ and must all say ``"split": "train"``, with ids unique across the files. Exit status
1 on any problem.

``--fix`` rewrites each train file without the items that overlap the eval set (for use after
new eval items are added); other problems still have to be fixed by hand.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from kilde.eval.gold import GoldItem, load_gold, validate_gold, write_gold
from kilde.eval.splits import EvidenceIndex, jaccard

ROOT = Path(__file__).resolve().parents[2]
MAX_JACCARD = 0.6


def overlaps(item: GoldItem, evals: list[GoldItem], index: EvidenceIndex) -> list[str]:
    """How a training item overlaps the eval set (``evals``, indexed in ``index``)."""
    found = []
    for ev in item.evidence:
        shared = index.shared_window(ev)
        if shared:
            found.append(f"{item.id}: quote shares 8 words with eval item {shared}")
        same = index.same_sentence(ev)
        if same and not shared:
            found.append(f"{item.id}: quote in the same sentence as eval item {same}")
    for other in evals:
        score = jaccard(item.question, other.question)
        if score > MAX_JACCARD:
            found.append(
                f"{item.id}: question near {other.id} (Jaccard {score:.2f}): "
                f"{item.question!r} ~ {other.question!r}"
            )
    return found


def check(train: list[GoldItem], evals: list[GoldItem], index: EvidenceIndex) -> list[str]:
    """The problems of ``train`` measured against ``evals`` (indexed in ``index``)."""
    problems = []
    for item in train:
        if item.split != "train":
            problems.append(f"{item.id}: split is {item.split!r}, not 'train'")
        problems += overlaps(item, evals, index)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", nargs="*", type=Path)
    parser.add_argument("--eval", type=Path, default=ROOT / "eval" / "gold" / "kilde.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--fix", action="store_true", help="drop items that overlap eval items")
    args = parser.parse_args(argv)
    paths = args.train or [
        *sorted((ROOT / "train" / "data").glob("kilde-train-*.jsonl")),
        *sorted((ROOT / "train" / "more").glob("kilde-train-*.jsonl")),
    ]
    evals = load_gold(args.eval)
    index = EvidenceIndex(evals, args.corpus)
    problems: list[str] = []
    ids: Counter[str] = Counter()
    for path in paths:
        train = load_gold(path)
        if args.fix:
            kept = [item for item in train if not overlaps(item, evals, index)]
            if len(kept) < len(train):
                write_gold(kept, path)
                print(f"{path.name}: dropped {len(train) - len(kept)} overlapping item(s)")
            train = kept
        ids.update(item.id for item in train)
        found = [f"{path.name}: {p}" for p in validate_gold(train, args.corpus)]
        found += [f"{path.name}: {p}" for p in check(train, evals, index)]
        answerable = sum(item.answerable for item in train)
        print(
            f"{path.name}: {len(train)} items ({answerable} answerable, "
            f"{len(train) - answerable} unanswerable), {len(found)} problem(s)"
        )
        problems += found
    problems += [
        f"id {i} appears {n} times across the train files" for i, n in ids.items() if n > 1
    ]
    for problem in problems:
        print(problem)
    print(f"checked {len(paths)} train file(s) against {len(evals)} eval items: ", end="")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
