"""The conversation exported for a briefing note, as Markdown and as Word (.docx)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from kilde.text import squash

from .markup import stamp
from .views import OCR_MARK, Turn, answer_plain

MD_NAME = "kilde-samtale.md"


DOCX_NAME = "kilde-samtale.docx"


def conversation_markdown(turns: Sequence[Turn], now: dt.datetime | None = None) -> str:
    """Questions, answers with [n] markers, and the references, as a Markdown document."""
    now = now or dt.datetime.now()
    lines = ["# Samtale med kilde", "", f"Eksportert {stamp(now)}.", ""]
    for i, turn in enumerate(turns, start=1):
        lines += [f"## {i}. {squash(turn.question)}", "", answer_plain(turn.answer), ""]
        if turn.sources:
            lines += ["**Nærmeste tekstbiter:**" if turn.refused else "**Kilder:**", ""]
            for s in turn.sources:
                lines.append(f"[{s.number}] {s.reference}  ")
                if s.quote:
                    lines.append(f"«{s.quote}»" + (f" ({OCR_MARK})" if s.ocr else ""))
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def conversation_docx(turns: Sequence[Turn], now: dt.datetime | None = None) -> bytes:
    """The same conversation as a Word document."""
    from docx import Document

    now = now or dt.datetime.now()
    document = Document()
    document.add_heading("Samtale med kilde", level=1)
    document.add_paragraph(f"Eksportert {stamp(now)}.")
    for i, turn in enumerate(turns, start=1):
        document.add_heading(f"{i}. {squash(turn.question)}", level=2)
        document.add_paragraph(answer_plain(turn.answer))
        if turn.sources:
            document.add_paragraph("Nærmeste tekstbiter:" if turn.refused else "Kilder:")
            for s in turn.sources:
                paragraph = document.add_paragraph(f"[{s.number}] {s.reference}")
                if s.quote:
                    paragraph.add_run(f"\n«{s.quote}»").italic = True
                    if s.ocr:
                        paragraph.add_run(f" ({OCR_MARK})")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
