"""Write a human report of an eval run: ``report.md`` with PNGs, and self-contained ``report.html``.

The report is built once as a list of plain-text blocks and then rendered twice, so all
escaping happens in the two renderers and nowhere else. Questions, answers and document
text are untrusted (a PDF can contain anything), so every cell is escaped for HTML, and
for Markdown too, since Markdown viewers pass raw HTML through.

``write_items``/``load_run`` keep a run's per-item scores in ``items.jsonl`` so a later run
can be compared with it (``--compare OLD_OUT``).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kilde.errors import KildeError
from kilde.eval.gold import TYPES, GoldItem

ITEMS_FILE = "items.jsonl"
ANSWER_CHARS = 200
PASSAGE_CHARS = 120
TOP_RETRIEVED = 3

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
    ("refusal recall (unanswerable)", ("refusals", "recall_unanswerable"), "rate"),
    ("false refusal rate", ("refusals", "false_refusal_rate"), "rate"),
    ("dropped claims", ("claims", "dropped"), "count"),
    ("dropped-claim rate (of claims made)", ("claims", "dropped_rate"), "rate"),
    ("questions with a dropped claim", ("claims", "questions_with_dropped"), "rate"),
    ("answered by the LLM (rest: fallback)", ("claims", "llm_answered"), "rate"),
    ("latency p50", ("latency_ms", "p50"), "ms"),
    ("latency p95", ("latency_ms", "p95"), "ms"),
)

# Grouped bars comparing retrievers: (label, path into the aggregate dict).
RETRIEVER_BARS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hit@5", ("retrieval", "hit@5")),
    ("MRR@10", ("retrieval", "mrr@10")),
    ("accuracy", ("answers", "accuracy")),
    ("citation precision", ("citations", "precision")),
)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; border: 1px solid #eee; }
.note { color: #555; }
"""


# --- report model -------------------------------------------------------------------


@dataclass(frozen=True)
class _Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class _Para:
    text: str


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  # per column: right-align in HTML


@dataclass(frozen=True)
class _Image:
    file: str
    alt: str
    png: bytes


_Block = _Heading | _Para | _Table | _Image


# --- public API -----------------------------------------------------------------------


def write_items(out_dir: Path, items: dict[str, list[dict]]) -> Path:
    """Write per-item scores of every retriever to ``out_dir/items.jsonl``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ITEMS_FILE
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for retriever, scores in items.items():
            for score in scores:
                line = {"retriever": retriever, **score}
                fh.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def load_run(out_dir: Path) -> dict[str, list[dict]]:
    """Per-item scores of an earlier run, keyed by retriever, from its ``items.jsonl``."""
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
                retriever = row.pop("retriever")
            except (json.JSONDecodeError, KeyError, AttributeError):
                raise KildeError(
                    f"{path} line {n} is not a per-item score with a 'retriever'; "
                    "re-run that eval to rewrite it."
                ) from None
            run.setdefault(str(retriever), []).append(row)
    return run


def write_report(
    out_dir: Path,
    runs: dict[str, dict],
    items: dict[str, list[dict]],
    gold: list[GoldItem],
    preds: dict[str, list[dict]],
    compare: tuple[dict[str, list[dict]], str] | None = None,
) -> tuple[Path, Path]:
    """Write ``report.md`` (with PNGs beside it) and self-contained ``report.html``.

    ``runs``/``items``/``preds`` are keyed by retriever name; ``compare`` is an older run's
    per-item scores (see ``load_run``) and its label. Returns (markdown path, html path).
    """
    if not runs:
        raise KildeError("No eval runs to report on; run at least one retriever first.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(runs)
    main = "hybrid" if "hybrid" in runs else names[0]

    blocks: list[_Block] = [_Heading("kilde evaluation report", 1)]
    blocks += _summary(runs, main, len(gold))
    blocks += _metrics_section(runs)
    blocks += _by_type_section(runs)
    if len(runs) > 1:
        blocks += _retrievers_section(runs)
    blocks += _failed_section(main, items.get(main, []), gold, preds.get(main, []))
    if compare is not None:
        blocks += _compare_section(runs, items, gold, compare)

    for block in blocks:
        if isinstance(block, _Image):
            (out_dir / block.file).write_bytes(block.png)
    md_path = out_dir / "report.md"
    html_path = out_dir / "report.html"
    md_path.write_text(_render_md(blocks), encoding="utf-8")
    html_path.write_text(_render_html(blocks), encoding="utf-8")
    return md_path, html_path


# --- sections -------------------------------------------------------------------------


def _summary(runs: dict[str, dict], main: str, n_gold: int) -> list[_Block]:
    agg = runs[main]
    text = (
        f"{n_gold} gold questions ({_fmt(agg.get('n_answerable'), 'count')} answerable, "
        f"{_fmt(agg.get('n_unanswerable'), 'count')} unanswerable). "
        f"Retrievers: {', '.join(runs)}. Main run: {main}."
    )
    return [_Para(text)]


def _metrics_section(runs: dict[str, dict]) -> list[_Block]:
    names = list(runs)
    rows = tuple(
        (label, *(_fmt(_get(runs[r], path), kind) for r in names))
        for label, path, kind in METRIC_ROWS
    )
    headers = ("metric", *names) if len(names) > 1 else ("metric", "value")
    return [
        _Heading("Metrics"),
        _Table(headers, rows, (False, *([True] * len(names)))),
    ]


def _types_in(runs: dict[str, dict]) -> list[str]:
    seen: set[str] = set()
    for agg in runs.values():
        seen.update((agg.get("by_type") or {}).keys())
    # Canonical order first, then anything unexpected, so charts read the same every run.
    return [t for t in TYPES if t in seen] + sorted(seen - set(TYPES))


def _by_type_section(runs: dict[str, dict]) -> list[_Block]:
    types = _types_in(runs)
    blocks: list[_Block] = [_Heading("By question type")]
    if not types:
        return [*blocks, _Para("No per-type metrics in this run.")]
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
        row = [t, _fmt(n, "count")]
        for p in per:
            row += [
                _fmt(_get(p, ("answers", "accuracy")), "rate"),
                _fmt(_get(p, ("retrieval", "hit@5")), "rate"),
            ]
        rows.append(tuple(row))
    numeric = (False, *([True] * (len(headers) - 1)))
    blocks.append(_Table(tuple(headers), tuple(rows), numeric))

    fig = Figure(figsize=(max(6.0, 1.1 * len(types) * max(1, len(names)) / 1.5), 6.5))
    for k, (title, path) in enumerate(
        (("Answer accuracy", ("answers", "accuracy")), ("Hit@5", ("retrieval", "hit@5")))
    ):
        ax = fig.add_subplot(2, 1, k + 1)
        series = {
            r: [_get((runs[r].get("by_type") or {}).get(t, {}), path) for t in types] for r in names
        }
        _grouped_bars(ax, tick_labels, series, title)
    blocks.append(_Image("by_type.png", "Answer accuracy and hit@5 per question type", _png(fig)))
    return blocks


def _retrievers_section(runs: dict[str, dict]) -> list[_Block]:
    labels = [label for label, _ in RETRIEVER_BARS]
    series = {r: [_get(agg, path) for _, path in RETRIEVER_BARS] for r, agg in runs.items()}
    fig = Figure(figsize=(7.5, 4.0))
    _grouped_bars(fig.add_subplot(1, 1, 1), labels, series, "Retrievers side by side")
    return [
        _Heading("Retrievers"),
        _Image(
            "retrievers.png",
            "Hit@5, MRR@10, accuracy and citation precision per retriever",
            _png(fig),
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
    elif not score.get("refused"):
        reasons.append("unanswerable not refused")
    return reasons


def _failed_section(
    main: str, scores: list[dict], gold: list[GoldItem], preds: list[dict]
) -> list[_Block]:
    gold_by_id = {g.id: g for g in gold}
    pred_by_id = {p.get("id"): p for p in preds}
    order = {g.id: i for i, g in enumerate(gold)}
    failed = [(s, _failure_reasons(s)) for s in scores]
    failed = [(s, r) for s, r in failed if r]
    failed.sort(key=lambda sr: (order.get(sr[0].get("id"), len(order)), str(sr[0].get("id"))))

    blocks: list[_Block] = [_Heading(f"Failed questions ({main})")]
    if not failed:
        return [*blocks, _Para("No failed questions.")]
    blocks.append(_Para(f"{len(failed)} of {len(scores)} questions failed."))
    rows = []
    for score, reasons in failed:
        qid = str(score.get("id"))
        g = gold_by_id.get(qid)
        p = pred_by_id.get(qid, {})
        if p.get("refused"):
            answer = "(refused)"
        else:
            answer = _clip(str(p.get("answer") or ""), ANSWER_CHARS)
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
                "\n".join(top),
            )
        )
    headers = ("id", "type", "why", "question", "gold answer", "kilde's answer", "top 3 retrieved")
    blocks.append(_Table(headers, tuple(rows)))
    return blocks


def _retrieved_line(r: dict) -> str:
    page = r.get("page_label") or r.get("page")
    where = str(r.get("file") or "?") + (f" p. {page}" if page not in (None, "") else "")
    return f"{where}: {_clip(' '.join(str(r.get('text') or '').split()), PASSAGE_CHARS)}"


def _compare_section(
    runs: dict[str, dict],
    items: dict[str, list[dict]],
    gold: list[GoldItem],
    compare: tuple[dict[str, list[dict]], str],
) -> list[_Block]:
    old_items, label = compare
    blocks: list[_Block] = [_Heading(f"Compared with {label}")]
    common = [r for r in runs if r in old_items]
    if not common:
        return [*blocks, _Para(f"No retriever in common with {label}; nothing to compare.")]
    missing = [r for r in runs if r not in old_items]
    if missing:
        blocks.append(_Para(f"Not in {label}: {', '.join(missing)}."))

    from kilde.eval.metrics import aggregate  # heavy-ish; only needed to compare

    old_aggs = {r: aggregate(old_items[r]) for r in common}
    rows = []
    for label_m, path, kind in METRIC_ROWS:
        row = [label_m]
        for r in common:
            new, old = _get(runs[r], path), _get(old_aggs[r], path)
            row += [_fmt(old, kind), _fmt(new, kind), _delta(new, old, kind)]
        rows.append(tuple(row))
    headers = ["metric"]
    for r in common:
        headers += [f"{r} old", f"{r} new", f"{r} Δ"]
    numeric = (False, *([True] * (len(headers) - 1)))
    blocks += [_Heading("Metric deltas", 3), _Table(tuple(headers), tuple(rows), numeric)]

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
                        _mark(before),
                        _mark(after),
                        question.get(str(s.get("id")), ""),
                    )
                )
    # Regressions first: they are what a maintainer has to look at.
    flips.sort(key=lambda f: (f[0] != "regression", f[1], f[2], f[4]))
    blocks.append(_Heading("Per-question wins and regressions", 3))
    blocks.append(_Para(f"{wins} wins, {regressions} regressions against {label}."))
    if flips:
        headers = ("change", "retriever", "id", "type", "metric", "old", "new", "question")
        blocks.append(_Table(headers, tuple(flips)))
    return blocks


# --- charts ---------------------------------------------------------------------------


def _grouped_bars(
    ax, labels: Sequence[str], series: dict[str, list[float | None]], title: str
) -> None:
    n = max(1, len(series))
    width = 0.8 / n
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(labels))]
        ys = [0.0 if v is None else float(v) for v in values]
        bars = ax.bar(xs, ys, width, label=name)
        for bar, v in zip(bars, values, strict=True):
            text = "n/a" if v is None else f"{float(v):.2f}"
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    # Headroom above 1.0 so the one-row legend never hides a full bar.
    ax.set_ylim(0, 1.25)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_title(title, fontsize=10)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="upper center", ncol=len(series), frameon=False)


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)  # Agg canvas without touching pyplot's global backend
    fig.tight_layout()
    buf = io.BytesIO()
    # Fixed metadata keeps the bytes identical between runs with the same numbers.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


# --- formatting -----------------------------------------------------------------------


def _get(d: dict | None, path: tuple[str, ...]):
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "count":
        return str(int(value))
    if kind == "ms":
        return f"{float(value):.0f} ms"
    return f"{float(value):.3f}"


def _delta(new, old, kind: str) -> str:
    if new is None or old is None:
        return "–"
    d = float(new) - float(old)
    if kind == "count":
        return f"{d:+.0f}"
    if kind == "ms":
        return f"{d:+.0f} ms"
    return f"{d:+.3f}"


def _mark(value) -> str:
    return "yes" if value else "no"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


# --- renderers ------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    # HTML-escape too: Markdown viewers render raw HTML, and cells hold document text.
    text = html.escape(text, quote=False)
    return text.replace("|", "\\|").replace("\n", "<br>")


def _render_md(blocks: list[_Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            out.append(f"{'#' * b.level} {_md_cell(b.text)}")
        elif isinstance(b, _Para):
            out.append(_md_cell(b.text))
        elif isinstance(b, _Table):
            lines = ["| " + " | ".join(_md_cell(h) for h in b.headers) + " |"]
            aligns = [
                "---:" if k < len(b.numeric) and b.numeric[k] else "---"
                for k in range(len(b.headers))
            ]
            lines.append("| " + " | ".join(aligns) + " |")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, _Image):
            out.append(f"![{_md_cell(b.alt)}]({b.file})")
    return "\n\n".join(out) + "\n"


def _esc(text: str) -> str:
    return html.escape(text, quote=True).replace("\n", "<br>")


def _render_html(blocks: list[_Block]) -> str:
    title = next((b.text for b in blocks if isinstance(b, _Heading)), "kilde report")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
    ]
    for b in blocks:
        if isinstance(b, _Heading):
            out.append(f"<h{b.level}>{_esc(b.text)}</h{b.level}>")
        elif isinstance(b, _Para):
            out.append(f"<p>{_esc(b.text)}</p>")
        elif isinstance(b, _Table):
            out.append("<table><thead><tr>")
            out.append("".join(f"<th>{_esc(h)}</th>" for h in b.headers))
            out.append("</tr></thead><tbody>")
            for row in b.rows:
                cells = []
                for k, c in enumerate(row):
                    cls = ' class="num"' if k < len(b.numeric) and b.numeric[k] else ""
                    cells.append(f"<td{cls}>{_esc(c)}</td>")
                out.append("<tr>" + "".join(cells) + "</tr>")
            out.append("</tbody></table>")
        elif isinstance(b, _Image):
            data = base64.b64encode(b.png).decode("ascii")
            out.append(f'<p><img alt="{_esc(b.alt)}" src="data:image/png;base64,{data}"></p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
