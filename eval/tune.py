"""Grid search of any settings on a gold set, over an existing index (no re-embedding).

    python -m kilde.eval.tune --gold eval/gold/kilde.jsonl --index DIR --split dev \
        [--grid dense_weight=0.3,0.5] [--grid answer.w_passage=0.5,1.0 --answers]

Prints hit@1/5/10 and MRR@10 for each combination (answerable items only), and with
``--answers`` also answer accuracy, citation precision and refusal rates, so that retrieval
and answer settings are chosen by measurement. Settings start from kilde.toml (or --config).
Tune on ``--split dev``; report the test split with ``kilde eval --split test``.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from kilde.answer.engine import Engine
from kilde.answer.serialize import answer_to_dict, retrieved_to_dict
from kilde.config import load_settings, parse_value

from .gold import load_gold, select_split
from .metrics import evaluate, score_item


def retrieval_metrics(engine: Engine, gold, k: int = 10) -> dict[str, float]:
    scores = []
    for item in gold:
        if not item.answerable:
            continue
        hits = engine.retriever.retrieve(item.question, k)
        pred = {
            "id": item.id,
            "answer": "",
            "refused": False,
            "citations": [],
            "retrieved": [retrieved_to_dict(h) for h in hits],
            "latency_ms": 0.0,
        }
        scores.append(score_item(item, pred))
    n = len(scores) or 1
    return {
        key: sum(s[key] or 0 for s in scores) / n for key in ("hit@1", "hit@5", "hit@10", "rr@10")
    }


def answer_metrics(engine: Engine, gold) -> dict[str, float]:
    """Accuracy, citation precision and refusal rates of the engine's answers to ``gold``."""
    preds = [{"id": item.id, **answer_to_dict(engine.ask(item.question))} for item in gold]
    run, _ = evaluate(gold, preds, page_text=engine.store.page_text)
    return {
        "accuracy": run["answers"]["accuracy"],
        "precision": run["citations"]["precision"],
        "refused_unanswerable": run["refusals"]["recall_unanswerable"],
        "refused_answerable": run["refusals"]["false_refusal_rate"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--config", type=Path, help="settings file (default: ./kilde.toml)")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        help="KEY=V1,V2,... (repeatable); e.g. retriever=bm25,dense,hybrid",
    )
    parser.add_argument("--split", default="all", help="dev, test or all (default all)")
    parser.add_argument("--answers", action="store_true", help="also score the answers")
    args = parser.parse_args(argv)
    gold = select_split(load_gold(args.gold), args.split)
    base = Engine.open(load_settings(args.config, index_dir=args.index))
    axes = []
    for spec in args.grid:
        key, _, values = spec.partition("=")
        axes.append([(key, parse_value(v)) for v in values.split(",")])
    for combo in itertools.product(*axes) if axes else [()]:
        engine = base.with_settings(base.settings.with_values(**dict(combo)))
        m = retrieval_metrics(engine, gold)
        label = " ".join(f"{k}={v}" for k, v in combo) or "defaults"
        print(
            f"{label:50s} hit@1 {m['hit@1']:.3f} hit@5 {m['hit@5']:.3f} "
            f"hit@10 {m['hit@10']:.3f} MRR@10 {m['rr@10']:.3f}",
            end="",
        )
        if args.answers:
            a = answer_metrics(engine, gold)
            print(
                f" accuracy {_f(a['accuracy'])} precision {_f(a['precision'])} "
                f"refused unanswerable {_f(a['refused_unanswerable'])} "
                f"answerable {_f(a['refused_answerable'])}",
                end="",
            )
        print(flush=True)
    return 0


def _f(value) -> str:
    return "–" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
