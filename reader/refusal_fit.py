"""Fit the refusal head (kilde.reader.refusal) on dumps of the training questions.

    python -m kilde.reader.refusal_fit .kilde/sim/train-more.jsonl \
        .kilde/sim/train-data.jsonl .kilde/sim/train-followups.jsonl \
        --out-of-domain .kilde/sim/norquad-train-dev.jsonl --out models/reader

Each dump (``kilde.eval.simulate dump``) holds, per question, the reader answerer's
candidates and, beside it (.npz), their pair embeddings. The head is fit on the first
``reader_candidates`` candidates of every question. The threshold is set on the questions
the reader answerer answers (the gate lets them through and a sentence is kept): each is
rated by a model fit without its group (the questions of one writer's file), and the
threshold refuses ``--false-refusals`` of the answerable ones. The figures written beside it
are those held-out ones. Never give it a dump of a test split.

``--out-of-domain`` dumps (the NorQuAD train questions the reader never trained on:
Wikipedia and news, all answerable) join the fit but not the threshold. Fit at home alone,
the head rated every sentence of text unlike kilde's reports lower and refused right answers
there; NorQuAD questions the reader had trained on did not cure that (docs/reader.md, "Text
unlike kilde's"). They are held out in five folds by a hash of the id, having no writers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kilde.eval.simulate import choice, holds_answer, load_embeddings, reader_choice

from .refusal import REFUSAL_FILE, answer_rating, encoder_digest, fit_logistic, threshold_for


@dataclass(frozen=True)
class Answered:
    """A question the reader answerer answers, with its kept sentences' embeddings."""

    kept: np.ndarray
    answerable: bool
    right: bool  # a kept sentence holds a gold answer
    group: str
    in_domain: bool = True  # sets the threshold; out-of-domain questions only join the fit


# Folds of an out-of-domain dump, whose questions have no writer to hold out by.
OUT_OF_DOMAIN_FOLDS = 5


def _group(dump: Path, question_id: str, in_domain: bool) -> str:
    if in_domain:
        return f"{dump.stem}:{question_id.rsplit('-', 1)[0]}"  # the writer's file
    fold = int(hashlib.sha1(question_id.encode()).hexdigest(), 16) % OUT_OF_DOMAIN_FOLDS
    return f"{dump.stem}:{fold}"


def examples(
    dumps: Sequence[Path], out_of_domain: Sequence[Path] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Answered]]:
    """Candidate embeddings, whether each holds the answer, each one's group; and the
    answered questions."""
    settings = choice()
    rows, labels, groups, answered = [], [], [], []
    for dump, in_domain in [(d, True) for d in dumps] + [(d, False) for d in out_of_domain]:
        lines = dump.read_text(encoding="utf-8").splitlines()
        for line, embedded in zip(lines, load_embeddings(dump), strict=True):
            record = json.loads(line)
            group = _group(dump, record["id"], in_domain)
            for i, cand in enumerate(record["candidates"][: settings.reader_candidates]):
                rows.append(embedded[i])
                labels.append(1.0 if cand["holds_answer"] else 0.0)
                groups.append(group)
            chosen = [] if record["gate_refused"] else reader_choice(record, settings)
            if chosen:
                kept = [record["candidates"].index(c) for c in chosen]
                right = holds_answer(chosen)
                answered.append(
                    Answered(embedded[kept], record["answerable"], right, group, in_domain)
                )
    return np.asarray(rows), np.asarray(labels), np.asarray(groups), answered


def fit(
    dumps: Sequence[Path],
    folder: Path,
    false_refusals: float = 0.03,
    c: float = 3.0,
    out_of_domain: Sequence[Path] = (),
) -> dict:
    """Fit on ``dumps`` and ``out_of_domain``, write ``folder``/refusal.json, return what it
    holds. The threshold comes from the in-domain ``dumps`` alone."""
    x, y, groups, answered = examples(dumps, out_of_domain)
    home = np.asarray([a.in_domain for a in answered], dtype=bool)
    answerable = np.asarray([a.answerable for a in answered], dtype=bool)
    if not (home & answerable).any():
        raise SystemExit("refusal_fit needs answered answerable questions")
    ratings = np.zeros(len(answered))
    for group in sorted(set(groups.tolist())):
        weight, bias = fit_logistic(x[groups != group], y[groups != group], c)
        for j, question in enumerate(answered):
            if question.group == group:
                ratings[j] = answer_rating(question.kept, weight, bias)
    threshold = threshold_for(ratings[home & answerable], false_refusals)
    refused = ratings < threshold
    right = np.asarray([a.right for a in answered], dtype=bool) & answerable
    by_group = {}
    for group in sorted({a.group for a in answered}):
        inside = np.asarray([a.group == group for a in answered])
        by_group[group] = {
            "unanswerable": int((inside & ~answerable).sum()),
            "answerable": int((inside & answerable).sum()),
            "unanswerable_refused": _rate(refused[inside & ~answerable]),
            "answerable_refused": _rate(refused[inside & answerable]),
        }
    weight, bias = fit_logistic(x, y, c)
    head = {
        "weight": weight.tolist(),
        "bias": bias,
        "threshold": threshold,
        "encoder_sha256": encoder_digest(folder),
        "fit": {
            "dumps": [str(d) for d in dumps],
            "out_of_domain": [str(d) for d in out_of_domain],
            "false_refusals": false_refusals,
            "c": c,
            "sentences": len(y),
            "answered_questions": len(answered),
            # held out by group (a writer's file, or a fold of an out-of-domain dump): what
            # the threshold did on questions its model had not seen (answered questions only;
            # the gate's refusals come on top)
            "held_out": _held_out(refused[home], answerable[home], right[home], by_group),
            "held_out_out_of_domain": (
                _held_out(refused[~home], answerable[~home], right[~home])
                if (~home).any()
                else None
            ),
        },
    }
    (folder / REFUSAL_FILE).write_text(json.dumps(head, ensure_ascii=False) + "\n")
    return head


def _held_out(
    refused: np.ndarray, answerable: np.ndarray, right: np.ndarray, by_group: dict | None = None
) -> dict:
    figures = {
        "unanswerable_refused": _rate(refused[~answerable]),
        "answerable_refused": _rate(refused[answerable]),
        "right_answers_refused": int((refused & right).sum()),
        "right_answers": int(right.sum()),
    }
    return figures if by_group is None else {**figures, "by_group": by_group}


def _rate(flags: np.ndarray) -> float | None:
    return round(float(flags.mean()), 4) if len(flags) else None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kilde.reader.refusal_fit")
    parser.add_argument("dumps", nargs="+", type=Path, help="simulate dumps (with .npz)")
    parser.add_argument("--out", type=Path, default=Path("models/reader"), help="reader folder")
    parser.add_argument(
        "--out-of-domain",
        nargs="*",
        type=Path,
        default=[],
        help="dumps of other kinds of text (NorQuAD train) that join the fit, not the threshold",
    )
    parser.add_argument("--false-refusals", type=float, default=0.03)
    parser.add_argument("--c", type=float, default=3.0, help="inverse L2 strength")
    args = parser.parse_args(argv)
    head = fit(args.dumps, args.out, args.false_refusals, args.c, args.out_of_domain)
    figures = {k: head["fit"][k] for k in ("held_out", "held_out_out_of_domain")}
    print(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
