"""Rendering an eval report: plain blocks (headings, paragraphs, tables, images) written
out as Markdown and as self-contained HTML, and the PNG charts they show.

All escaping happens here: questions, answers and document text are untrusted (a PDF can
contain anything), so every cell is escaped for HTML, and for Markdown too, since Markdown
viewers pass raw HTML through.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


# --- blocks -------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  # per column: right-align in HTML


@dataclass(frozen=True)
class Image:
    file: str
    alt: str
    png: bytes


Block = Heading | Para | Table | Image


# --- charts ---------------------------------------------------------------------------


def grouped_bars(
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


def png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)  # Agg canvas without touching pyplot's global backend
    fig.tight_layout()
    buf = io.BytesIO()
    # Fixed metadata keeps the bytes identical between runs with the same numbers.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


# --- renderers ------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    # HTML-escape too: Markdown viewers render raw HTML, and cells hold document text.
    text = html.escape(text, quote=False)
    return text.replace("|", "\\|").replace("\n", "<br>")


def render_md(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md_cell(b.text)}")
        elif isinstance(b, Para):
            out.append(_md_cell(b.text))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_cell(h) for h in b.headers) + " |"]
            aligns = [
                "---:" if k < len(b.numeric) and b.numeric[k] else "---"
                for k in range(len(b.headers))
            ]
            lines.append("| " + " | ".join(aligns) + " |")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Image):
            out.append(f"![{_md_cell(b.alt)}]({b.file})")
    return "\n\n".join(out) + "\n"


def _esc(text: str) -> str:
    return html.escape(text, quote=True).replace("\n", "<br>")


def render_html(blocks: list[Block]) -> str:
    title = next((b.text for b in blocks if isinstance(b, Heading)), "kilde report")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
    ]
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{_esc(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_esc(b.text)}</p>")
        elif isinstance(b, Table):
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
        elif isinstance(b, Image):
            data = base64.b64encode(b.png).decode("ascii")
            out.append(f'<p><img alt="{_esc(b.alt)}" src="data:image/png;base64,{data}"></p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
