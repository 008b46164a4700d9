"""Split the gold set into dev and test, in place and reproducibly.

    .venv/bin/python eval/gold/split_gold.py [--gold eval/gold/kilde.jsonl] [--corpus corpus]

Items that already carry a split keep it; see ``kilde.eval.splits.assign_dev_test`` and
eval/gold/README.md for the rule. Items whose id starts with ``--held-out`` (default "ht-",
written later as extra test items) are always test and play no part in balancing the rest.
Running it again on its own output changes nothing; ``--reset`` redoes the split from scratch.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace
from pathlib import Path

from kilde.eval.gold import load_gold, validate_gold, write_gold
from kilde.eval.splits import assign_dev_test

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold" / "kilde.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--reset", action="store_true", help="forget existing dev/test splits")
    parser.add_argument("--held-out", default="ht-", help="id prefix of items that are always test")
    args = parser.parse_args(argv)
    items = load_gold(args.gold)
    problems = validate_gold(items, args.corpus)
    if problems:
        raise SystemExit(f"{args.gold}: {problems[0]}")
    if args.reset:
        items = [replace(i, split=None) if i.split in ("dev", "test") else i for i in items]
    placed = {
        item.id: item
        for item in assign_dev_test(
            [i for i in items if not i.id.startswith(args.held_out)], args.corpus
        )
    }
    items = [placed.get(i.id) or replace(i, split="test") for i in items]
    assign_dev_test(items, args.corpus)  # raises if one evidence group spans dev and test
    write_gold(items, args.gold)
    table = Counter((item.split, item.type) for item in items)
    for split in ("dev", "test"):
        row = {t: n for (s, t), n in sorted(table.items()) if s == split}
        print(f"{split}: {sum(row.values())} items {row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
