"""Fit the refusal head (kilde.reader.refusal) on dumps of the training questions.

    python -m kilde.reader.refusal_fit .kilde/sim/train-more.jsonl \
        .kilde/sim/train-data.jsonl .kilde/sim/train-followups.jsonl --out models/reader

Each dump (``kilde.eval.simulate dump``) holds, per question, the reader answerer's
candidates and, beside it (.npz), their pair embeddings. The head is fit on the first
``reader_candidates`` candidates of every question. The threshold is set on the questions
the reader answerer answers (the gate lets them through and a sentence is kept): each is
rated by a model fit without its group (the questions of one writer's file), and the
threshold refuses ``--false-refusals`` of the answerable ones. The figures written beside it
are those held-out ones. Never give it a dump of a test split.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kilde.eval.simulate import choice, load_embeddings, reader_choice

from .refusal import REFUSAL_FILE, answer_rating, encoder_digest, fit_logistic, threshold_for


@dataclass(frozen=True)
class Answered:
    """A question the reader answerer answers, with its kept sentences' embeddings."""

    kept: np.ndarray
    answerable: bool
    right: bool  # a kept sentence holds a gold answer
    group: str


def examples(
    dumps: Sequence[Path],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Answered]]:
    """Candidate embeddings, whether each holds the answer, each one's group; and the
    answered questions."""
    settings = choice()
    rows, labels, groups, answered = [], [], [], []
    for dump in dumps:
        lines = dump.read_text(encoding="utf-8").splitlines()
        for line, embedded in zip(lines, load_embeddings(dump), strict=True):
            record = json.loads(line)
            group = f"{dump.stem}:{record['id'].rsplit('-', 1)[0]}"
            for i, cand in enumerate(record["candidates"][: settings.reader_candidates]):
                rows.append(embedded[i])
                labels.append(1.0 if cand["holds_answer"] else 0.0)
                groups.append(group)
            chosen = [] if record["gate_refused"] else reader_choice(record, settings)
            if chosen:
                kept = [record["candidates"].index(c) for c in chosen]
                right = any(c["holds_answer"] for c in chosen)
                answered.append(Answered(embedded[kept], record["answerable"], right, group))
    return np.asarray(rows), np.asarray(labels), np.asarray(groups), answered


def fit(dumps: Sequence[Path], folder: Path, false_refusals: float = 0.03, c: float = 3.0) -> dict:
    """Fit on ``dumps``, write ``folder``/refusal.json, return what it holds."""
    x, y, groups, answered = examples(dumps)
    if not answered or not any(a.answerable for a in answered):
        raise SystemExit("refusal_fit needs answered answerable questions")
    ratings = np.zeros(len(answered))
    for group in sorted(set(groups.tolist())):
        weight, bias = fit_logistic(x[groups != group], y[groups != group], c)
        for j, question in enumerate(answered):
            if question.group == group:
                ratings[j] = answer_rating(question.kept, weight, bias)
    answerable = np.asarray([a.answerable for a in answered])
    threshold = threshold_for(ratings[answerable], false_refusals)
    refused = ratings < threshold
    by_group = {}
    for group in sorted({a.group for a in answered}):
        inside = np.asarray([a.group == group for a in answered])
        by_group[group] = {
            "unanswerable": int((inside & ~answerable).sum()),
            "answerable": int((inside & answerable).sum()),
            "unanswerable_refused": _rate(refused[inside & ~answerable]),
            "answerable_refused": _rate(refused[inside & answerable]),
        }
    right = np.asarray([a.right for a in answered]) & answerable
    weight, bias = fit_logistic(x, y, c)
    head = {
        "weight": weight.tolist(),
        "bias": bias,
        "threshold": threshold,
        "encoder_sha256": encoder_digest(folder),
        "fit": {
            "dumps": [str(d) for d in dumps],
            "false_refusals": false_refusals,
            "c": c,
            "sentences": len(y),
            "answered_questions": len(answered),
            # held out by writer group: what the threshold did on questions of writers its
            # model had not seen (answered questions only; the gate's refusals come on top)
            "held_out": {
                "unanswerable_refused": _rate(refused[~answerable]),
                "answerable_refused": _rate(refused[answerable]),
                "right_answers_refused": int((refused & right).sum()),
                "right_answers": int(right.sum()),
                "by_group": by_group,
            },
        },
    }
    (folder / REFUSAL_FILE).write_text(json.dumps(head, ensure_ascii=False) + "\n")
    return head


def _rate(flags: np.ndarray) -> float | None:
    return round(float(flags.mean()), 4) if len(flags) else None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kilde.reader.refusal_fit")
    parser.add_argument("dumps", nargs="+", type=Path, help="simulate dumps (with .npz)")
    parser.add_argument("--out", type=Path, default=Path("models/reader"), help="reader folder")
    parser.add_argument("--false-refusals", type=float, default=0.03)
    parser.add_argument("--c", type=float, default=3.0, help="inverse L2 strength")
    args = parser.parse_args(argv)
    head = fit(args.dumps, args.out, args.false_refusals, args.c)
    print(json.dumps(head["fit"]["held_out"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
