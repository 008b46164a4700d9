"""Write small real PDFs for tests: text pages, printed page labels, encryption, scans.

fpdf2 draws the pages with the DejaVu font (its built-in Helvetica cannot encode "–", "«"
and the like), and pypdf adds page labels and encryption afterwards.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}


def make_pdf(
    path: Path,
    pages: list,
    labels: list[str] | None = None,
    owner_password: str | None = None,
    user_password: str | None = None,
    title: str | None = None,
) -> Path:
    """Write one page per string (None: a page with a drawing and no text, like a scan; a
    (PIL image, stamp) pair: the image over the whole page, with the stamp as its text layer).

    ``labels`` are the printed page labels, one per page, e.g. ["i", "ii", "1", "2"]; they
    are stored as label ranges (roman, arabic, letters) the way real PDFs do. With a
    password the file is encrypted with AES-128; an owner password alone lets anyone read.
    """
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    if not FONT.is_file():
        raise FileNotFoundError(f"{FONT} is missing; install fonts-dejavu-core")
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=11)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.set_fill_color(120, 120, 120)
            pdf.rect(20, 20, 170, 250, style="F")
        elif isinstance(text, str):
            pdf.multi_cell(0, 6, text)
        else:  # a scan: an image over the whole page, maybe with a line of text (a stamp)
            image, stamp = text
            pdf.image(image, x=0, y=0, w=pdf.w, h=pdf.h)
            if stamp:
                pdf.text(12, 8, stamp)

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    if labels is not None:
        if len(labels) != len(pages):
            raise ValueError("give one label per page")
        for first, last, style, start in _label_ranges(labels):
            writer.set_page_label(first, last, style=style, start=start)
    if owner_password or user_password:
        writer.encrypt(
            user_password=user_password or "",
            owner_password=owner_password or user_password,
            algorithm="AES-128",
        )
    path = Path(path)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def make_scanned_pdf(path: Path, n_pages: int) -> Path:
    """A PDF whose pages hold only a drawing, as a scan without OCR does."""
    return make_pdf(path, [None] * n_pages)


def _label_ranges(labels: list[str]) -> list[tuple[int, int, str, int]]:
    """Consecutive pages whose labels count up in one style, as (first, last, style, start)."""
    ranges: list[tuple[int, int, str, int]] = []
    prev: tuple[str, int] | None = None
    for index, label in enumerate(labels):
        style, value = _parse_label(label)
        if prev is not None and style == prev[0] and value == prev[1] + 1:
            first, _, _, start = ranges[-1]
            ranges[-1] = (first, index, style, start)
        else:
            ranges.append((index, index, style, value))
        prev = (style, value)
    return ranges


def _parse_label(label: str) -> tuple[str, int]:
    if label.isdigit():
        return "/D", int(label)
    if re.fullmatch(r"[ivxlcdm]+", label):
        return "/r", _roman(label)
    if re.fullmatch(r"[IVXLCDM]+", label):
        return "/R", _roman(label.lower())
    if re.fullmatch(r"[a-z]", label):
        return "/a", ord(label) - ord("a") + 1
    if re.fullmatch(r"[A-Z]", label):
        return "/A", ord(label) - ord("A") + 1
    raise ValueError(f"page label {label!r} is not a number, a roman numeral or a letter")


def _roman(text: str) -> int:
    total = 0
    for char, following in zip(text, text[1:] + " ", strict=True):
        value = _ROMAN[char]
        total += -value if following != " " and _ROMAN[following] > value else value
    return total
