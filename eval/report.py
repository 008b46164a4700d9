"""Write a human report of an eval run: ``report.md`` with PNGs, and self-contained ``report.html``.

The report is built once as a list of plain blocks (``render.py``) and then rendered twice,
so all escaping happens in the two renderers and nowhere else. Each run is a pipeline
*variant* (bm25, dense, hybrid, the naive baseline, ...).

``write_items``/``load_run`` keep a run's per-item scores in ``items.jsonl`` so a later run
can be compared with it (``--compare OLD_OUT``).
"""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure

from kilde.errors import KildeError
from kilde.eval.gold import GoldItem

from .cells import METRIC_ROWS, clip, fmt, get, types_in
from .compare import compare_section
from .render import Block, Heading, Image, Para, Table, grouped_bars, png, render_html, render_md

ITEMS_FILE = "items.jsonl"
ANSWER_CHARS = 200
PASSAGE_CHARS = 120
TOP_RETRIEVED = 3

# Grouped bars comparing variants: (label, path into the aggregate dict).
VARIANT_BARS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hit@5", ("retrieval", "hit@5")),
    ("MRR@10", ("retrieval", "mrr@10")),
    ("accuracy", ("answers", "accuracy")),
    ("citation precision", ("citations", "precision")),
)

# --- public API -----------------------------------------------------------------------


def write_items(out_dir: Path, items: dict[str, list[dict]]) -> Path:
    """Write per-item scores of every variant to ``out_dir/items.jsonl``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ITEMS_FILE
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for variant, scores in items.items():
            for score in scores:
                line = {"variant": variant, **score}
                fh.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def load_run(out_dir: Path) -> dict[str, list[dict]]:
    """Per-item scores of an earlier run, keyed by variant, from its ``items.jsonl``."""
    path = Path(out_dir)
    if path.is_dir():
        path = path / ITEMS_FILE
    if not path.is_file():
        raise KildeError(
            f"No {ITEMS_FILE} at {out_dir}; give the output folder of an earlier eval run."
        )
    run: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                # "retriever" is what runs before the answering layer called a variant.
                variant = row.pop("variant", None) or row.pop("retriever")
            except (json.JSONDecodeError, KeyError, AttributeError):
                raise KildeError(
                    f"{path} line {n} is not a per-item score with a 'variant'; "
                    "re-run that eval to rewrite it."
                ) from None
            run.setdefault(str(variant), []).append(row)
    return run


def write_report(
    out_dir: Path,
    runs: dict[str, dict],
    items: dict[str, list[dict]],
    gold: list[GoldItem],
    preds: dict[str, list[dict]],
    compare: tuple[dict[str, list[dict]], str] | None = None,
    split: str = "all",
) -> tuple[Path, Path]:
    """Write ``report.md`` (with PNGs beside it) and self-contained ``report.html``.

    ``runs``/``items``/``preds`` are keyed by variant name; ``compare`` is an older run's
    per-item scores (see ``load_run``) and its label. Returns (markdown path, html path).
    """
    if not runs:
        raise KildeError("No eval runs to report on; run at least one variant first.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(runs)
    main = "hybrid" if "hybrid" in runs else names[0]

    blocks: list[Block] = [Heading("kilde evaluation report", 1)]
    blocks += _summary(runs, main, len(gold), split)
    blocks += _found_pages(gold, items.get(main, []))
    blocks += _metrics_section(runs)
    blocks += _by_type_section(runs)
    if len(runs) > 1:
        blocks += _variants_section(runs)
    blocks += _failed_section(main, items.get(main, []), gold, preds.get(main, []))
    if compare is not None:
        blocks += compare_section(runs, items, gold, compare)

    for block in blocks:
        if isinstance(block, Image):
            (out_dir / block.file).write_bytes(block.png)
    md_path = out_dir / "report.md"
    html_path = out_dir / "report.html"
    md_path.write_text(render_md(blocks), encoding="utf-8")
    html_path.write_text(render_html(blocks), encoding="utf-8")
    return md_path, html_path


# --- sections -------------------------------------------------------------------------


def _summary(runs: dict[str, dict], main: str, n_gold: int, split: str) -> list[Block]:
    agg = runs[main]
    text = (
        f"Split: {split}. "
        f"{n_gold} gold questions ({fmt(agg.get('n_answerable'), 'count')} answerable, "
        f"{fmt(agg.get('n_unanswerable'), 'count')} unanswerable). "
        f"Retrievers: {', '.join(runs)}. Main run: {main}."
    )
    return [Para(text)]


def _found_pages(gold: list[GoldItem], scores: list[dict]) -> list[Block]:
    """Where the eval found the page of a gold quote that the gold file gives no page for."""
    places = {str(s.get("id")): s.get("evidence_at") or [] for s in scores}
    found = [
        f"{g.id}: {at}"
        for g in gold
        for ev, at in zip(g.evidence, places.get(g.id, []), strict=False)
        if ev.page is None and " p. " in at
    ]
    if not found:
        return []
    return [
        Para("Evidence pages found by search (not stated in the gold file): " + "; ".join(found))
    ]


def _metrics_section(runs: dict[str, dict]) -> list[Block]:
    names = list(runs)
    rows = tuple(
        (label, *(fmt(get(runs[r], path), kind) for r in names))
        for label, path, kind in METRIC_ROWS
    )
    headers = ("metric", *names) if len(names) > 1 else ("metric", "value")
    return [
        Heading("Metrics"),
        Table(headers, rows, (False, *([True] * len(names)))),
    ]


def _by_type_section(runs: dict[str, dict]) -> list[Block]:
    types = types_in(runs)
    blocks: list[Block] = [Heading("By question type")]
    if not types:
        return [*blocks, Para("No per-type metrics in this run.")]
    names = list(runs)
    headers = ["type", "n"]
    for r in names:
        suffix = f" ({r})" if len(names) > 1 else ""
        headers += [f"accuracy{suffix}", f"hit@5{suffix}"]
    rows = []
    tick_labels: list[str] = []
    for t in types:
        per = [(runs[r].get("by_type") or {}).get(t, {}) for r in names]
        n = next((p.get("n") for p in per if p.get("n") is not None), None)
        tick_labels.append(t if n is None else f"{t}\n(n={int(n)})")
        row = [t, fmt(n, "count")]
        for p in per:
            row += [
                fmt(get(p, ("answers", "accuracy")), "rate"),
                fmt(get(p, ("retrieval", "hit@5")), "rate"),
            ]
        rows.append(tuple(row))
    numeric = (False, *([True] * (len(headers) - 1)))
    blocks.append(Table(tuple(headers), tuple(rows), numeric))

    fig = Figure(figsize=(max(6.0, 1.1 * len(types) * max(1, len(names)) / 1.5), 6.5))
    for k, (title, path) in enumerate(
        (("Answer accuracy", ("answers", "accuracy")), ("Hit@5", ("retrieval", "hit@5")))
    ):
        ax = fig.add_subplot(2, 1, k + 1)
        series = {
            r: [get((runs[r].get("by_type") or {}).get(t, {}), path) for t in types] for r in names
        }
        grouped_bars(ax, tick_labels, series, title)
    blocks.append(Image("by_type.png", "Answer accuracy and hit@5 per question type", png(fig)))
    return blocks


def _variants_section(runs: dict[str, dict]) -> list[Block]:
    labels = [label for label, _ in VARIANT_BARS]
    series = {r: [get(agg, path) for _, path in VARIANT_BARS] for r, agg in runs.items()}
    fig = Figure(figsize=(7.5, 4.0))
    grouped_bars(fig.add_subplot(1, 1, 1), labels, series, "Pipeline variants side by side")
    return [
        Heading("Variants"),
        Image(
            "variants.png",
            "Hit@5, MRR@10, accuracy and citation precision per variant",
            png(fig),
        ),
    ]


def _failure_reasons(score: dict) -> list[str]:
    """Why an item counts as failed; empty when it passed."""
    reasons = []
    if score.get("answerable", True):
        if score.get("refused"):
            reasons.append("wrong refusal")
        elif score.get("correct") is not None and not score.get("correct"):
            reasons.append("wrong answer")
        hit = score.get("hit@5")
        if hit is not None and not hit:
            reasons.append("miss at hit@5")
        for field, reason in (("page_correct", "wrong page"), ("line_correct", "wrong lines")):
            value = score.get(field)
            if value is not None and value < 1:
                reasons.append(f"{reason} ({value:.2f})")
    elif not score.get("refused"):
        reasons.append("unanswerable not refused")
    return reasons


def _failed_section(
    main: str, scores: list[dict], gold: list[GoldItem], preds: list[dict]
) -> list[Block]:
    gold_by_id = {g.id: g for g in gold}
    pred_by_id = {p.get("id"): p for p in preds}
    order = {g.id: i for i, g in enumerate(gold)}
    failed = [(s, _failure_reasons(s)) for s in scores]
    failed = [(s, r) for s, r in failed if r]
    failed.sort(key=lambda sr: (order.get(sr[0].get("id"), len(order)), str(sr[0].get("id"))))

    blocks: list[Block] = [Heading(f"Failed questions ({main})")]
    if not failed:
        return [*blocks, Para("No failed questions.")]
    blocks.append(Para(f"{len(failed)} of {len(scores)} questions failed."))
    rows = []
    for score, reasons in failed:
        qid = str(score.get("id"))
        g = gold_by_id.get(qid)
        p = pred_by_id.get(qid, {})
        if p.get("refused"):
            answer = "(refused)"
        else:
            answer = clip(str(p.get("answer") or ""), ANSWER_CHARS)
        gold_answer = (g.answer if g.answerable else "(unanswerable)") if g else ""
        top = [_retrieved_line(r) for r in (p.get("retrieved") or [])[:TOP_RETRIEVED]]
        rows.append(
            (
                qid,
                str(score.get("type") or (g.type if g else "")),
                "; ".join(reasons),
                g.question if g else str(p.get("question") or ""),
                gold_answer,
                answer,
                "\n".join(score.get("evidence_at") or ()),
                "\n".join(top),
            )
        )
    headers = (
        "id",
        "type",
        "why",
        "question",
        "gold answer",
        "kilde's answer",
        "gold evidence at",
        "top 3 retrieved",
    )
    blocks.append(Table(headers, tuple(rows)))
    return blocks


def _retrieved_line(r: dict) -> str:
    page = r.get("page_label") or r.get("page")
    where = str(r.get("file") or "?") + (f" p. {page}" if page not in (None, "") else "")
    return f"{where}: {clip(' '.join(str(r.get('text') or '').split()), PASSAGE_CHARS)}"
