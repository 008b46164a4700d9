"""Average two readers fine-tuned from the same base ("model soup"):

    python -m kilde.reader.soup .kilde/reader/s600 .kilde/reader/s2400 --out models/reader

Every tensor and both heads become ``(1 - weight) * first + weight * second``; the
matrices are then stored 4-bit again. Both readers must come from the same recipe (same
vocabulary, layers and input), as ``make train-reader``'s two runs do. Why: the reader
trained four times as long chooses better on paraphrased questions and NorQuAD, the short
run better on questions that copy their sentence's words and on follow-ups; their average
(at 0.5, not tuned) kept some of both (docs/reader.md, "An average of the two").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kilde.errors import KildeError, ReaderModelError
from kilde.reader.e5format import read_e5, write_e5
from kilde.reader.export import ENCODER_FILE, HEAD_FILE
from kilde.reader.infer import check_reader

REPORT_FILE = "training.json"
_HEAD_VECTORS = ("candidate_weight", "no_answer_weight")
_HEAD_NUMBERS = ("candidate_bias", "no_answer_bias")
MAX_CANDIDATES = 8  # as make train-reader trains (--max-candidates)


def soup(first: Path, second: Path, out: Path, weight: float = 0.5) -> dict:
    """Write the average of the readers in ``first`` and ``second`` to ``out``; returns the
    report written to its training.json."""
    if not 0.0 <= weight <= 1.0:
        raise KildeError(f"Vekten må være mellom 0 og 1, ikke {weight}.")
    head_a, head_b = check_reader(first), check_reader(second)
    a, b = read_e5(first / ENCODER_FILE), read_e5(second / ENCODER_FILE)
    if a.pieces != b.pieces or a.config != b.config or set(a.tensors) != set(b.tensors):
        raise ReaderModelError(
            f"Lesermodellene i {first} og {second} har ulik form eller ordliste; "
            "begge må trenes med samme oppskrift."
        )
    if any(head_a.get(k) != head_b.get(k) for k in ("input", "context")) or any(
        len(head_a[k]) != len(head_b[k]) for k in _HEAD_VECTORS
    ):
        raise ReaderModelError(f"Lesermodellene i {first} og {second} leser ulik inndata.")
    for name, values in a.tensors.items():
        a.tensors[name] = ((1 - weight) * values + weight * b.tensors[name]).astype(np.float32)
    head = dict(head_a)
    for key in _HEAD_VECTORS:
        pairs = zip(head_a[key], head_b[key], strict=True)
        head[key] = [(1 - weight) * x + weight * y for x, y in pairs]
    for key in _HEAD_NUMBERS:
        head[key] = (1 - weight) * head_a[key] + weight * head_b[key]
    out.mkdir(parents=True, exist_ok=True)
    write_e5(a, out / ENCODER_FILE)
    (out / HEAD_FILE).write_text(json.dumps(head))
    parts = {"first": _report(first), "second": _report(second)}
    # Quantization-aware only when both were: the average of two 4-bit grids is re-rounded.
    qat = all(part.get("qat", False) for part in parts.values())
    report = {"soup": {"weight": weight, **parts}, "qat": qat}
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return report


def dev_figures(
    folder: Path, norquad: Path, corpus: Path, train_data: Path, dev_limit: int, seed: int
) -> dict[str, dict[str, float]]:
    """The dev figures ``kilde.reader.train`` reports for its 4-bit reader, for the reader in
    ``folder`` and on the same dev items (a run with the same seed and ``--dev-limit``)."""
    import random

    from kilde.reader.data import in_domain_items, is_dev, use_context
    from kilde.reader.nearmiss import near_miss_items
    from kilde.reader.train import dev_norquad, q4_figures

    use_context(check_reader(folder).get("context", "previous"))
    nq_dev = dev_norquad(norquad, dev_limit, random.Random(seed))
    files = sorted(train_data.glob("kilde-train-*.jsonl"))
    kd = in_domain_items(files, corpus, MAX_CANDIDATES, seed) if files else []
    kd_dev = [i for i in kd if is_dev(i.question)]
    near_dev = near_miss_items([*nq_dev, *kd_dev], 1.0, seed + 1)
    return q4_figures(folder, nq_dev, kd_dev, [], near_dev)


def _report(folder: Path) -> dict:
    """The training report of one ingredient, as far as it has one."""
    try:
        return {"folder": str(folder), **json.loads((folder / REPORT_FILE).read_text())}
    except (OSError, ValueError):
        return {"folder": str(folder)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first", type=Path, help="folder of the first reader")
    p.add_argument("second", type=Path, help="folder of the second reader")
    p.add_argument("--out", type=Path, required=True, help="folder for the average")
    p.add_argument("--weight", type=float, default=0.5, help="share of the second reader")
    p.add_argument("--no-dev", action="store_true", help="skip the dev figures (~3 min)")
    p.add_argument("--norquad", type=Path, default=Path("../shared/norquad"))
    p.add_argument("--corpus", type=Path, default=Path("corpus"))
    p.add_argument("--train-data", type=Path, default=Path("train/data"))
    p.add_argument("--dev-limit", type=int, default=200, help="NorQuAD dev items scored")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        report = soup(args.first, args.second, args.out, args.weight)
        if not args.no_dev:
            figures = dev_figures(
                args.out, args.norquad, args.corpus, args.train_data, args.dev_limit, args.seed
            )
            (args.out / REPORT_FILE).write_text(json.dumps(report | figures, indent=2) + "\n")
            print(json.dumps(figures, indent=2))
    except KildeError as exc:  # a missing or mismatched reader: one line, no traceback
        raise SystemExit(str(exc)) from None
    except OSError as exc:
        raise SystemExit(f"Kan ikke skrive {exc.filename}: {exc.strerror}.") from None
    print(f"Gjennomsnittet er skrevet til {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
