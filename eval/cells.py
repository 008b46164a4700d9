"""How a report prints a metric: the rows of the metrics tables and each cell's format.

Shared by the report (``report.py``) and its comparison with an older run (``compare.py``).
"""

from __future__ import annotations

from typing import Any

from kilde.eval.gold import TYPES

# (label, path into the aggregate dict, kind); kind decides how a value is printed.
METRIC_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("questions", ("n",), "count"),
    ("answerable", ("n_answerable",), "count"),
    ("unanswerable", ("n_unanswerable",), "count"),
    ("retrieval hit@1", ("retrieval", "hit@1"), "rate"),
    ("retrieval hit@5", ("retrieval", "hit@5"), "rate"),
    ("retrieval hit@10", ("retrieval", "hit@10"), "rate"),
    ("retrieval MRR@10", ("retrieval", "mrr@10"), "rate"),
    ("retrieval nDCG@10", ("retrieval", "ndcg@10"), "rate"),
    ("evidence recall@5", ("retrieval", "evidence_recall@5"), "rate"),
    ("answer accuracy", ("answers", "accuracy"), "rate"),
    ("answer token F1", ("answers", "token_f1"), "rate"),
    ("citation precision", ("citations", "precision"), "rate"),
    ("citation recall", ("citations", "recall"), "rate"),
    ("citation verbatim", ("citations", "verbatim"), "rate"),
    ("citation page accuracy", ("citations", "page_accuracy"), "rate"),
    ("citation line accuracy", ("citations", "line_accuracy"), "rate"),
    ("cited lines hold the quote", ("citations", "lines_hold_quote"), "rate"),
    ("refusal recall (unanswerable)", ("refusals", "recall_unanswerable"), "rate"),
    ("false refusal rate", ("refusals", "false_refusal_rate"), "rate"),
    ("dropped claims", ("claims", "dropped"), "count"),
    ("dropped-claim rate (of claims made)", ("claims", "dropped_rate"), "rate"),
    ("questions with a dropped claim", ("claims", "questions_with_dropped"), "rate"),
    ("answered by the LLM (rest: fallback)", ("claims", "llm_answered"), "rate"),
    ("latency p50", ("latency_ms", "p50"), "ms"),
    ("latency p95", ("latency_ms", "p95"), "ms"),
)


def types_in(runs: dict[str, dict]) -> list[str]:
    """The question types any of ``runs`` (aggregates) scores, in the gold set's order."""
    seen: set[str] = set()
    for agg in runs.values():
        seen.update((agg.get("by_type") or {}).keys())
    # Canonical order first, then anything unexpected, so charts read the same every run.
    return [t for t in TYPES if t in seen] + sorted(seen - set(TYPES))


def get(d: dict | None, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a nested aggregate; None where the path stops."""
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def fmt(value: float | None, kind: str) -> str:
    """A cell: a count, milliseconds or a rate (three decimals); a dash for no value."""
    if value is None:
        return "–"
    if kind == "count":
        return str(int(value))
    if kind == "ms":
        return f"{float(value):.0f} ms"
    return f"{float(value):.3f}"


def delta(new: float | None, old: float | None, kind: str) -> str:
    """The signed change from ``old`` to ``new`` as ``fmt`` prints ``kind``."""
    if new is None or old is None:
        return "–"
    d = float(new) - float(old)
    if kind == "count":
        return f"{d:+.0f}"
    if kind == "ms":
        return f"{d:+.0f} ms"
    return f"{d:+.3f}"


def mark(value: object) -> str:
    """yes or no."""
    return "yes" if value else "no"


def clip(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters, with an ellipsis where it was cut."""
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"
