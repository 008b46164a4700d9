"""«Vis siden»: a cited PDF page as an image, with the quote highlighted where it stands.

The highlight comes from the page itself: PDFium's text page gives each character's box, and
the quote is searched among the page's characters with whitespace and hyphens left out (the
PDF breaks lines and words where the cleaned quote runs on). No Streamlit here; the UI only
shows the PNG.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from kilde.errors import KildeError
from kilde.ingest.clean import normalise_chars

RENDER_SCALE = 1.5  # 108 dpi: the page fits a chat column and small print stays readable
HIGHLIGHT = (255, 214, 0, 110)  # translucent yellow, RGBA
_IGNORED = set(" \t\r\n\f\u00a0-\u00ad\u2010\u2011")


@dataclass(frozen=True)
class PageImage:
    png: bytes
    width: int
    height: int
    boxes: tuple[tuple[int, int, int, int], ...]  # highlighted areas, image pixels (l, t, r, b)

    @property
    def found(self) -> bool:
        return bool(self.boxes)


def render_page(pdf_path: Path, page: int, quote: str, scale: float = RENDER_SCALE) -> PageImage:
    """Page ``page`` (1-based) of the PDF at ``pdf_path`` with ``quote`` highlighted."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(pdf_path))
    except (pdfium.PdfiumError, OSError) as exc:
        raise KildeError(f"kan ikke åpne {Path(pdf_path).name} for å vise siden") from exc
    try:
        if not 1 <= page <= len(document):
            raise KildeError(f"{Path(pdf_path).name} har ingen side {page}")
        pdf_page = document[page - 1]
        height = pdf_page.get_height()
        text_page = pdf_page.get_textpage()
        char_boxes = quote_char_boxes(text_page, quote)
        boxes = tuple(
            (round(left * scale), round((height - top) * scale), round(right * scale),
             round((height - bottom) * scale))
            for left, bottom, right, top in _line_boxes(char_boxes)
        )  # fmt: skip
        image = pdf_page.render(scale=scale).to_pil().convert("RGBA")
    finally:
        document.close()
    return PageImage(_highlighted_png(image, boxes), image.width, image.height, boxes)


def quote_char_boxes(text_page, quote: str) -> list[tuple[float, float, float, float]]:
    """PDF-space boxes (left, bottom, right, top) of the characters of ``quote`` on the page;
    empty when the quote is not there."""
    count = text_page.count_chars()
    text = text_page.get_text_range(0, count) if count else ""
    if len(text) != count:  # characters outside the BMP: no 1:1 index, search still works
        text = text[:count]
    key, where = _search_key(text)
    wanted, _ = _search_key(quote)
    if not wanted:
        return []
    at = key.find(wanted)
    if at < 0:
        return []
    first, last = where[at], where[at + len(wanted) - 1]
    return [text_page.get_charbox(i) for i in range(first, last + 1) if text[i] not in _IGNORED]


def _search_key(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace and hyphens, normalised as cleaning does, and for each
    character kept the index it came from."""
    key: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch in _IGNORED:
            continue
        for out in normalise_chars(ch):
            if out not in _IGNORED:
                key.append(out)
                where.append(i)
    return "".join(key), where


def _line_boxes(
    boxes: list[tuple[float, float, float, float]],
) -> list[tuple[float, float, float, float]]:
    """Character boxes merged into one box per printed line."""
    lines: list[list[float]] = []
    for left, bottom, right, top in boxes:
        if right <= left or top <= bottom:
            continue  # generated or empty characters
        if lines:
            line = lines[-1]
            middle = (bottom + top) / 2
            if line[1] <= middle <= line[3] and left >= line[0] - 2:
                line[0], line[1] = min(line[0], left), min(line[1], bottom)
                line[2], line[3] = max(line[2], right), max(line[3], top)
                continue
        lines.append([left, bottom, right, top])
    return [(a, b, c, d) for a, b, c, d in lines]


def _highlighted_png(image, boxes) -> bytes:
    from PIL import Image, ImageDraw

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, top, right, bottom in boxes:
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=HIGHLIGHT)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, format="PNG")
    return out.getvalue()
