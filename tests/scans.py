"""Write image-only ("scanned") PDFs of Norwegian text for OCR tests and bench/ocr_bench.py.

Pillow draws each page with DejaVu onto a white A4 image: paragraphs wrapped to the page,
table rows (lines starting "| ", cells split by " | ") in a ruled grid, and a footnote (a
line starting with a superscript digit) in small type under a rule at the foot of the page.
tests/pdfs.py puts each image over a whole page (no text layer) and adds printed page labels;
pages can also be real text pages, for a PDF that mixes both.
"""

from __future__ import annotations

import io
from pathlib import Path

from pdfs import FONT, make_pdf  # tests/pdfs.py

A4_INCHES = (8.27, 11.69)
MARGIN_INCHES = 0.9
BODY_PT = 12
FOOTNOTE_PT = 9
FOOTNOTE_MARKS = "¹²³⁴⁵⁶⁷⁸⁹"


def render_page(text: str, dpi: int = 300, body_pt: float = BODY_PT):
    """One page of ``text`` as a greyscale PIL image of an A4 sheet at ``dpi``, its body in
    ``body_pt`` type (footnotes three quarters of that)."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = (round(side * dpi) for side in A4_INCHES)
    margin = round(MARGIN_INCHES * dpi)
    body = ImageFont.truetype(str(FONT), round(body_pt * dpi / 72))
    note_pt = body_pt * FOOTNOTE_PT / BODY_PT
    small = ImageFont.truetype(str(FONT), round(note_pt * dpi / 72))
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    line_gap = round(body_pt * 1.5 * dpi / 72)
    y = margin
    lines = text.split("\n")
    notes = [line for line in lines if line[:1] in FOOTNOTE_MARKS and line[:1]]
    for line in lines:
        if line in notes:
            continue
        if line.startswith("| "):
            y = _table_row(draw, body, line, margin, width - margin, y, line_gap)
        elif not line.strip():
            y += line_gap // 2
        else:
            for part in _wrap(draw, body, line, width - 2 * margin):
                draw.text((margin, y), part, font=body, fill=0)
                y += line_gap
    if notes:
        note_gap = round(note_pt * 1.4 * dpi / 72)
        wrapped = [p for note in notes for p in _wrap(draw, small, note, width - 2 * margin)]
        y = height - margin - note_gap * len(wrapped)
        draw.line((margin, y - note_gap // 2, margin + width // 4, y - note_gap // 2), fill=0)
        for part in wrapped:
            draw.text((margin, y), part, font=small, fill=0)
            y += note_gap
    return image


def degrade(image, seed: int = 0):
    """``image`` as a worn office scanner gives it: turned half a degree, blurred, speckled
    with dust, and JPEG-compressed."""
    import numpy as np
    from PIL import Image, ImageFilter

    turned = image.rotate(0.5 if seed % 2 else -0.5, resample=Image.BILINEAR, fillcolor=255)
    blurred = np.asarray(turned.filter(ImageFilter.GaussianBlur(1.0))).copy()
    dust = np.random.default_rng(seed).random(blurred.shape)
    blurred[dust < 0.002] = 0
    blurred[dust > 0.99] = 255
    buffer = io.BytesIO()
    Image.fromarray(blurred).save(buffer, format="JPEG", quality=50)
    return Image.open(io.BytesIO(buffer.getvalue()))


def source_text(text: str) -> str:
    """What a perfect reader finds on the page ``text`` draws, in reading order: table bars
    become spaces, and footnotes come last, at the foot of the page where they are drawn."""
    rows, notes = [], []
    for line in text.split("\n"):
        if line.startswith("| "):
            line = " ".join(cell.strip() for cell in line.strip("| ").split(" | "))
        (notes if line[:1] in FOOTNOTE_MARKS and line[:1] else rows).append(line)
    return " ".join(" ".join(rows + notes).split())


def make_scan_pdf(
    path: Path,
    pages: list[str],
    labels: list[str] | None = None,
    text_pages: frozenset[int] = frozenset(),
    stamps: dict[int, str] | None = None,
    dpi: int = 300,
    worn: bool = False,
    body_pt: float = BODY_PT,
) -> Path:
    """A PDF of ``pages``, each drawn as an image with no text layer, except the 0-based
    ``text_pages``, which are real text. ``stamps`` puts a short text layer over some scans
    (as a scanner's date line does). ``labels`` are printed page labels, one per page.
    ``worn`` scans go through ``degrade``."""
    stamps = stamps or {}
    entries = []
    for i, text in enumerate(pages):
        if i in text_pages:
            entries.append(text)
            continue
        image = render_page(text, dpi, body_pt)
        entries.append((degrade(image, i) if worn else image, stamps.get(i, "")))
    return make_pdf(Path(path), entries, labels=labels)


def _wrap(draw, font, text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def _table_row(draw, font, line: str, left: int, right: int, y: int, gap: int) -> int:
    cells = [cell.strip() for cell in line.strip("| ").split(" | ")]
    step = (right - left) // len(cells)
    pad = gap // 5
    draw.rectangle((left, y, right, y + gap + pad), outline=0, width=2)
    for n, cell in enumerate(cells):
        x = left + n * step
        if n:
            draw.line((x, y, x, y + gap + pad), fill=0, width=2)
        draw.text((x + pad, y + pad), cell, font=font, fill=0)
    return y + gap + pad
