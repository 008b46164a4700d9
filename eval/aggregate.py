"""Means of the per-item scores of ``kilde.eval.metrics`` over a run: overall and by question
type, with the latency percentiles and the LLM answerer's dropped-claim figures."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable


def mean_present(values: Iterable[float | bool | None]) -> float | None:
    """The mean of the values that are not None; None when there are none."""
    present = [float(value) for value in values if value is not None]
    return sum(present) / len(present) if present else None


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _field_mean(items: list[dict], name: str) -> float | None:
    return mean_present(item.get(name) for item in items)


def _aggregate(items: list[dict]) -> dict:
    answerable = [item for item in items if item.get("answerable")]
    unanswerable = [item for item in items if not item.get("answerable")]
    multi_evidence = [item for item in answerable if (item.get("n_evidence") or 0) >= 2]
    latencies = [float(item["latency_ms"]) for item in items if item.get("latency_ms") is not None]
    return {
        "n": len(items),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "retrieval": {
            "hit@1": _field_mean(items, "hit@1"),
            "hit@5": _field_mean(items, "hit@5"),
            "hit@10": _field_mean(items, "hit@10"),
            "mrr@10": _field_mean(items, "rr@10"),
            "ndcg@10": _field_mean(items, "ndcg@10"),
            "evidence_recall@5": _field_mean(multi_evidence, "evidence_recall@5"),
        },
        "answers": {
            "accuracy": _field_mean(items, "correct"),
            "token_f1": _field_mean(items, "token_f1"),
        },
        "citations": {
            "precision": _field_mean(items, "citation_precision"),
            "recall": _field_mean(items, "citation_recall"),
            "verbatim": _field_mean(items, "verbatim"),
            "page_accuracy": _field_mean(items, "page_correct"),
            "line_accuracy": _field_mean(items, "line_correct"),
            # The cited file lines hold the citation's own quote (issue: line citations).
            "lines_hold_quote": _field_mean(items, "lines_hold_quote"),
        },
        "refusals": {
            "recall_unanswerable": _field_mean(unanswerable, "refused"),
            "false_refusal_rate": _field_mean(answerable, "refused"),
            # which stage refused (kilde.types.REFUSAL_REASONS): counts per group
            "by_reason": {
                "unanswerable": _reasons(unanswerable),
                "answerable": _reasons(answerable),
            },
        },
        "claims": _claim_scores(items),
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
    }


def _reasons(items: list[dict]) -> dict[str, int]:
    """How many refused items each refusal reason accounts for ("unknown": predictions
    written before the reason was recorded)."""
    counts = Counter(
        item.get("refusal_reason") or "unknown" for item in items if item.get("refused")
    )
    return dict(sorted(counts.items()))


def _claim_scores(items: list[dict]) -> dict:
    """How many answer sentences were dropped because their quote did not verify (the LLM
    answerer's figure; the rules answerer quotes the page and drops none)."""
    dropped = sum(item.get("dropped_claims") or 0 for item in items)
    shown = sum(item.get("shown_claims") or 0 for item in items)
    return {
        "dropped": dropped,
        "dropped_rate": dropped / (dropped + shown) if dropped + shown else None,
        "questions_with_dropped": mean_present(
            (item.get("dropped_claims") or 0) > 0 for item in items
        ),
        "llm_answered": mean_present(item.get("answerer") == "llm" for item in items),
    }


def aggregate(item_scores: list[dict]) -> dict:
    """Means of the per-item scores over the items where each is not None, overall and by
    question type."""
    result = _aggregate(item_scores)
    types = sorted({str(item.get("type")) for item in item_scores})
    result["by_type"] = {
        name: _aggregate([item for item in item_scores if str(item.get("type")) == name])
        for name in types
    }
    return result
