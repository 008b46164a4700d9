"""The report's comparison with an older run (``kilde eval --compare OLD_OUT``): metric deltas,
answer accuracy per question type, and the questions that flipped either way."""

from __future__ import annotations

from kilde.eval.aggregate import aggregate
from kilde.eval.gold import GoldItem

from .cells import METRIC_ROWS, delta, fmt, get, mark, types_in
from .render import Block, Heading, Para, Table


def compare_section(
    runs: dict[str, dict],
    items: dict[str, list[dict]],
    gold: list[GoldItem],
    compare: tuple[dict[str, list[dict]], str],
) -> list[Block]:
    """The report's blocks comparing ``runs`` with ``compare`` (an older run's per-item
    scores and its label): metric deltas, accuracy by type, and per-question flips."""
    old_items, label = compare
    blocks: list[Block] = [Heading(f"Compared with {label}")]
    common = [r for r in runs if r in old_items]
    if not common:
        return [*blocks, Para(f"No variant in common with {label}; nothing to compare.")]
    missing = [r for r in runs if r not in old_items]
    if missing:
        blocks.append(Para(f"Not in {label}: {', '.join(missing)}."))

    old_aggs = {r: aggregate(old_items[r]) for r in common}
    rows = []
    for label_m, path, kind in METRIC_ROWS:
        row = [label_m]
        for r in common:
            new, old = get(runs[r], path), get(old_aggs[r], path)
            row += [fmt(old, kind), fmt(new, kind), delta(new, old, kind)]
        rows.append(tuple(row))
    headers = ["metric"]
    for r in common:
        headers += [f"{r} old", f"{r} new", f"{r} Δ"]
    numeric = (False, *([True] * (len(headers) - 1)))
    blocks += [Heading("Metric deltas", 3), Table(tuple(headers), tuple(rows), numeric)]
    blocks += _compare_by_type(runs, old_aggs, common)

    question = {g.id: g.question for g in gold}
    flips = []
    wins = regressions = 0
    for r in common:
        old_by_id = {s.get("id"): s for s in old_items[r]}
        for s in items.get(r, []):
            o = old_by_id.get(s.get("id"))
            if o is None:
                continue
            for field in ("correct", "hit@5"):
                before, after = o.get(field), s.get(field)
                if before is None or after is None or bool(before) == bool(after):
                    continue
                won = bool(after)
                wins += won
                regressions += not won
                flips.append(
                    (
                        "win" if won else "regression",
                        r,
                        str(s.get("id")),
                        str(s.get("type") or ""),
                        field,
                        mark(before),
                        mark(after),
                        question.get(str(s.get("id")), ""),
                    )
                )
    # Regressions first: they are what a maintainer has to look at.
    flips.sort(key=lambda f: (f[0] != "regression", f[1], f[2], f[4]))
    blocks.append(Heading("Per-question wins and regressions", 3))
    blocks.append(Para(f"{wins} wins, {regressions} regressions against {label}."))
    if flips:
        headers = ("change", "variant", "id", "type", "metric", "old", "new", "question")
        blocks.append(Table(headers, tuple(flips)))
    return blocks


def _compare_by_type(
    runs: dict[str, dict], old_aggs: dict[str, dict], common: list[str]
) -> list[Block]:
    """Answer accuracy per gold question type, old against new (e.g. rules against reader)."""
    types = types_in({**{f"old {r}": old_aggs[r] for r in common}, **runs})
    if not types:
        return []
    headers = ["type"]
    for r in common:
        headers += [f"{r} n", f"{r} old", f"{r} new", f"{r} Δ"]
    rows = []
    for t in types:
        row = [t]
        for r in common:
            old = (old_aggs[r].get("by_type") or {}).get(t, {})
            new = (runs[r].get("by_type") or {}).get(t, {})
            n = new.get("n") if new.get("n") is not None else old.get("n")
            before = get(old, ("answers", "accuracy"))
            after = get(new, ("answers", "accuracy"))
            row += [fmt(n, "count"), fmt(before, "rate"), fmt(after, "rate")]
            row.append(delta(after, before, "rate"))
        rows.append(tuple(row))
    numeric = (False, *([True] * (len(headers) - 1)))
    return [
        Heading("Answer accuracy by question type", 3),
        Table(tuple(headers), tuple(rows), numeric),
    ]
