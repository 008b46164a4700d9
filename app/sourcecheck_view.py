"""The source check («Kildesjekk») for the app, without Streamlit: the draft with each
statement marked, and the draft exported with numbered references (.docx and Markdown).

In the exports a statement with a source gets a reference: a real footnote in .docx, a
number and a numbered list at the end in Markdown, each with the reference and the quote. A
statement whose figure differs from its source is flagged in the text, and one with no source
gets «[kilde mangler]», so that nothing in the exported note looks sourced that is not.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

from kilde.answer.sourcecheck import (
    MISMATCH,
    NOT_FOUND,
    STATUS_LABELS,
    SUPPORTED,
    DraftCheck,
    StatementCheck,
)
from kilde.text import squash
from kilde.types import Citation

MD_NAME = "kildesjekk.md"
DOCX_NAME = "kildesjekk.docx"
MISSING_MARK = "[kilde mangler]"
CSS_CLASS = {SUPPORTED: "kilde-ok", MISMATCH: "kilde-differs", NOT_FOUND: "kilde-missing"}


@dataclass(frozen=True)
class Reference:
    number: int
    citation: Citation
    note: str = ""  # for a figure that differs: what the draft and the source say


@dataclass(frozen=True)
class Piece:
    """A stretch of the draft; ``statement`` is set when the stretch is one."""

    text: str
    statement: StatementCheck | None = None
    number: int | None = None  # its reference number, if it has a source


def mismatch_note(check: StatementCheck) -> str:
    parts = [f"utkastet sier «{m.draft}», kilden sier «{m.source}»" for m in check.mismatches]
    return "Tallet avviker: " + "; ".join(parts) + "." if parts else ""


def numbered(check: DraftCheck) -> tuple[list[list[Piece]], list[Reference]]:
    """The draft as paragraphs of pieces, and the numbered references the pieces point to.
    One source sentence cited twice keeps one number."""
    references: list[Reference] = []
    by_key: dict[tuple[str, str], int] = {}
    pieces: list[Piece] = []
    at = 0
    for s in check.statements:
        if s.start > at:
            pieces.append(Piece(check.draft[at : s.start]))
        number = None
        if s.citations:
            citation = s.citations[0]
            key = (citation.reference, citation.quote)
            if key not in by_key or s.status == MISMATCH:
                references.append(Reference(len(references) + 1, citation, mismatch_note(s)))
                by_key.setdefault(key, len(references))
                number = len(references)
            else:
                number = by_key[key]
        pieces.append(Piece(check.draft[s.start : s.end], s, number))
        at = s.end
    if at < len(check.draft):
        pieces.append(Piece(check.draft[at:]))
    return _paragraphs(pieces), references


def _paragraphs(pieces: Sequence[Piece]) -> list[list[Piece]]:
    """Pieces split at blank lines into paragraphs (a statement never spans one)."""
    paragraphs: list[list[Piece]] = [[]]
    for piece in pieces:
        if piece.statement is not None:
            paragraphs[-1].append(piece)
            continue
        chunks = piece.text.replace("\r\n", "\n").split("\n\n")
        for i, chunk in enumerate(chunks):
            if i:
                paragraphs.append([])
            if chunk.strip("\n"):
                paragraphs[-1].append(Piece(chunk.strip("\n")))
    return [p for p in paragraphs if any(x.text.strip() for x in p)]


def marker(piece: Piece) -> str:
    """What follows a statement in an export: ``[3]``, ``[3, tall avviker]`` or the missing
    mark."""
    s = piece.statement
    if s is None:
        return ""
    if s.status == NOT_FOUND or piece.number is None:
        return MISSING_MARK
    if s.status == MISMATCH:
        return f"[{piece.number}, tall avviker]"
    return f"[{piece.number}]"


def _stamp(now: dt.datetime) -> str:
    return now.strftime("%d.%m.%Y kl. %H:%M")


def draft_markdown(check: DraftCheck, now: dt.datetime | None = None) -> str:
    """The draft with reference numbers after its statements and the references at the end."""
    paragraphs, references = numbered(check)
    lines: list[str] = []
    for paragraph in paragraphs:
        text = ""
        for piece in paragraph:
            text += piece.text + (" " + marker(piece) if piece.statement else "")
        lines += [text.strip(), ""]
    lines += ["## Kilder", ""]
    for ref in references:
        lines.append(f"{ref.number}. {ref.citation.reference}  ")
        lines.append(f"   «{ref.citation.quote}»" + (f"  \n   {ref.note}" if ref.note else ""))
    missing = sum(1 for p in paragraphs for x in p if x.statement and marker(x) == MISSING_MARK)
    lines += ["", f"_Kildesjekk {_stamp(now or dt.datetime.now())}: {missing} utsagn uten kilde._"]
    return "\n".join(lines).rstrip() + "\n"


def draft_docx(check: DraftCheck, now: dt.datetime | None = None) -> bytes:
    """The draft as a Word document with a real footnote after each sourced statement (the
    reference and the quote; for a differing figure, what differs). Differing figures are
    highlighted yellow, statements without a source pink with «[kilde mangler]»."""
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX

    from .docx_footnotes import Footnotes

    paragraphs, references = numbered(check)
    by_number = {ref.number: ref for ref in references}
    document = Document()
    footnotes = Footnotes()
    missing = differing = 0
    for paragraph in paragraphs:
        out = document.add_paragraph()
        for piece in paragraph:
            run = out.add_run(piece.text)
            if piece.statement is None:
                continue
            if piece.statement.status == MISMATCH:
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
                differing += 1
            if piece.number is None:
                run.font.highlight_color = WD_COLOR_INDEX.PINK
                out.add_run(" " + MISSING_MARK).italic = True
                missing += 1
                continue
            ref = by_number[piece.number]
            note = [(ref.citation.reference + " ", False), (f"«{ref.citation.quote}»", True)]
            if piece.statement.status == MISMATCH:
                note.append((" " + mismatch_note(piece.statement), False))
            footnotes.add(out, note)
    document.add_paragraph().add_run(
        f"Kildesjekk {_stamp(now or dt.datetime.now())}: {missing} utsagn uten kilde, "
        f"{differing} med tall som avviker fra kilden."
    ).italic = True
    footnotes.attach(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def marked_html(check: DraftCheck) -> str:
    """The draft as one line of inert HTML, each statement in a span of its status with its
    number; for the app's «Kildesjekk» view."""
    from kilde.app.markup import escape_html

    paragraphs, _ = numbered(check)
    out = []
    for paragraph in paragraphs:
        parts = []
        for piece in paragraph:
            if piece.statement is None:
                parts.append(escape_html(piece.text))
                continue
            status = piece.statement.status
            label = html.escape(STATUS_LABELS[status])
            parts.append(
                f'<span class="kilde-stmt {CSS_CLASS[status]}" title="{label}">'
                f"{escape_html(piece.text)}</span>"
                f'<sup class="kilde-marker">{html.escape(marker(piece))}</sup>'
            )
        out.append(f"<p>{''.join(parts)}</p>")
    return f'<div class="kilde-draft">{"".join(out)}</div>'


def statement_line(check: StatementCheck) -> str:
    """A one-line summary of a statement's result, in Norwegian."""
    if check.status == SUPPORTED:
        return f"Støttet: {check.citations[0].reference}"
    if check.status == MISMATCH:
        return mismatch_note(check)
    return "Ikke funnet: ingen kilde i dokumentene sier dette."


def short(text: str, limit: int = 90) -> str:
    text = squash(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
