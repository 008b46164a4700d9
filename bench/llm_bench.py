"""The LLM answerer on the gold set: how many of the model's claims verify, and which refusal
rule (``llm.refusal``) works, from one model call per question.

    .venv/bin/python bench/llm_bench.py --llm-url http://127.0.0.1:8000/v1 --llm-model NAME \
        [--answerable 16] [--out eval/runs/llm-bench.json]

Each question goes through the product's stages (follow-up, retrieval, evidence gate, the LLM
answerer's prompt, reply parsing and quote verification), but the model is asked once and
every refusal rule is then scored from the same reply: the gate's decision and the model's
are both recorded, so the rules differ only in how they combine them. The questions are every
unanswerable gold item plus every k-th answerable one (``--answerable`` of them), in file
order: no choice by result. Prints a table and writes the per-question rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from kilde.answer.engine import Engine, QueryCache
from kilde.answer.llm import build_messages, parse_reply, verify_claim
from kilde.answer.llm_client import LlmError
from kilde.config import Settings
from kilde.eval.gold import load_gold
from kilde.eval.metrics import answer_correct
from kilde.eval.runner import default_index_dir
from kilde.index.build import ingest
from kilde.index.embedders import load_embedder
from kilde.ingest.chunk import ChunkingParams

ROOT = Path(__file__).resolve().parent.parent
RULES = {
    "both": lambda gate, model: gate and model,
    "either": lambda gate, model: gate or model,
    "gate": lambda gate, model: gate,
    "model": lambda gate, model: model,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-url", required=True)
    parser.add_argument("--llm-model", required=True)
    parser.add_argument("--llm-timeout", type=float, default=300.0)
    parser.add_argument("--gold", type=Path, default=ROOT / "eval/gold/kilde.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--answerable", type=int, default=16, help="answerable questions")
    parser.add_argument("--unanswerable", type=int, default=100, help="unanswerable questions")
    parser.add_argument("--index", type=Path, help="an index of --corpus (default: eval's own)")
    parser.add_argument("--out", type=Path, default=ROOT / "eval/runs/llm-bench.json")
    args = parser.parse_args()

    settings = Settings().with_values(
        **{
            "answer.answerer": "llm",
            "llm.url": args.llm_url,
            "llm.model": args.llm_model,
            "llm.timeout": args.llm_timeout,
        }
    )
    embedder = QueryCache(load_embedder(settings.index.embedder))
    index = args.index
    if index is None:
        index = default_index_dir(args.corpus, settings, settings.index.embedder)
        ingest(args.corpus, index, embedder, ChunkingParams.from_settings(settings.index))
    engine = Engine.open(settings.with_values(index_dir=str(index)), embedder=embedder)
    pipeline, llm = engine.pipeline, engine.pipeline.answerer

    gold = load_gold(args.gold)
    answerable = [g for g in gold if g.answerable]
    step = max(1, len(answerable) // max(args.answerable, 1))
    unanswerable = [g for g in gold if not g.answerable][: args.unanswerable]
    chosen = unanswerable + answerable[::step][: args.answerable]

    rows = []
    for n, item in enumerate(chosen, start=1):
        query = pipeline.followup.resolve(item.question, ())
        retrieved = pipeline.retriever.retrieve(query, max(pipeline.top_k, 10))
        gate_refuses = llm.gate.check(query, retrieved).refuse
        shown = list(retrieved[: llm.passages])
        started = time.perf_counter()
        row = {"id": item.id, "answerable": item.answerable, "gate_refuses": gate_refuses}
        try:
            text = llm.client.chat(
                build_messages(item.question, shown, llm.max_sentences), llm.max_tokens
            )
            reply = parse_reply(text)
        except LlmError as exc:
            row.update(error=str(exc), model_refuses=False, kept=[], dropped=0)
        else:
            spans = [verify_claim(c, shown) for c in reply.claims[: llm.max_sentences]]
            kept = [s.claim for s in spans if s is not None]
            row.update(
                error=None,
                model_refuses=reply.refused,
                kept=kept,
                dropped=len(spans) - len(kept) + reply.malformed,
                reply=text[:800],
            )
        row["seconds"] = round(time.perf_counter() - started, 2)
        answer = " ".join(row["kept"])
        row["llm_correct"] = bool(answer) and answer_correct(item, answer, False)
        rows.append(row)
        print(
            f"[{n}/{len(chosen)}] {item.id} gate={'refuse' if gate_refuses else 'answer'} "
            f"model={'refuse' if row['model_refuses'] else 'answer'} kept={len(row['kept'])} "
            f"dropped={row['dropped']} {row['seconds']} s {row['error'] or ''}",
            flush=True,
        )

    summary = summarize(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"model": args.llm_model, "summary": summary, "rows": rows},
            indent=1,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


def summarize(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    kept = sum(len(r["kept"]) for r in rows)
    dropped = sum(r["dropped"] for r in rows)

    def share(items: list[dict], test) -> float | None:
        return round(sum(1 for r in items if test(r)) / len(items), 3) if items else None

    def refused(row: dict, rule) -> bool:
        """The product's outcome: the rule's refusal, or, when no claim verified, the
        fallback's (the default pipeline refuses exactly when the gate does)."""
        return rule(row["gate_refuses"], row["model_refuses"]) or (
            not row["kept"] and row["gate_refuses"]
        )

    rules = {
        name: {
            "refusal_recall_unanswerable": share(unanswerable, lambda r, f=rule: refused(r, f)),
            "false_refusal_rate": share(answerable, lambda r, f=rule: refused(r, f)),
        }
        for name, rule in RULES.items()
    }
    rules["gate_agrees_with_model"] = share(
        rows, lambda r: r["error"] is None and r["gate_refuses"] == r["model_refuses"]
    )
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "server_or_json_errors": share(rows, lambda r: r["error"] is not None),
        "claims_kept": kept,
        "claims_dropped": dropped,
        "dropped_rate": round(dropped / (kept + dropped), 3) if kept + dropped else None,
        "questions_with_a_verified_claim": share(rows, lambda r: bool(r["kept"])),
        "llm_answer_correct_answerable": share(answerable, lambda r: r["llm_correct"]),
        "seconds_p50": statistics.median(r["seconds"] for r in rows) if rows else None,
        "refusal_rules": rules,
    }


if __name__ == "__main__":
    sys.exit(main())
