"""The view model of one question and answer in the chat: the answer with its numbered
sources, each source a quote in its passage, where it stands and its reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kilde.answer.cite import reference as chunk_reference
from kilde.text import location_label
from kilde.types import REFUSAL_TEXT, Answer, Chunk, Citation, DocInfo

if TYPE_CHECKING:
    pass
from .markup import block, escape_html, find_quote, highlight_html

OCR_MARK = "OCR-tekst – kontroller mot originalen"


OCR_MARK_HELP = (
    "Siden er et skannet bilde som er lest med OCR. Sitatet er kontrollert mot OCR-teksten, "
    "ikke mot originalen, og kan ha lesefeil."
)


SNIPPET_CONTEXT = 240  # characters shown on each side of a quote in the sources panel


PAGE_WINDOW = 700  # characters of page text around a quote when no retrieved chunk holds it


NEAREST_SHOWN = 3  # passages offered under a refusal


@dataclass(frozen=True)
class Passage:
    """A stretch of source text and where the quote stands in it."""

    text: str
    span: tuple[int, int] | None

    def snippet(self, context: int = SNIPPET_CONTEXT) -> Passage:
        """The quote with up to ``context`` characters each side, cut at spaces."""
        text = self.text
        if self.span is None:
            if len(text) <= 2 * context:
                return self
            cut = text.rfind(" ", 0, 2 * context)
            return Passage(text[: cut if cut > 0 else 2 * context].rstrip() + " …", None)
        start, end = self.span
        lo, hi = max(0, start - context), min(len(text), end + context)
        if lo > 0:
            space = text.find(" ", lo, start)
            lo = space + 1 if space != -1 else lo
        if hi < len(text):
            space = text.rfind(" ", end, hi)
            hi = space if space != -1 else hi
        while lo < start and text[lo].isspace():
            lo += 1
        while hi > end and text[hi - 1].isspace():
            hi -= 1
        head = "… " if lo > 0 else ""
        tail = " …" if hi < len(text) else ""
        shift = len(head) - lo
        return Passage(head + text[lo:hi] + tail, (start + shift, end + shift))

    def html(self) -> str:
        return highlight_html(self.text, self.span)


def find_passage(citation: Citation, answer: Answer, page_text: str | None) -> Passage:
    """The retrieved chunk of the cited file and page that holds the quote; else the page
    text around the quote; else the quote alone."""
    for hit in answer.retrieved:
        chunk = hit.chunk
        if chunk.file == citation.file and chunk.page == citation.page:
            span = find_quote(chunk.text, citation.quote)
            if span:
                return Passage(chunk.text, span)
    if page_text:
        span = find_quote(page_text, citation.quote)
        if span:
            lo = max(0, span[0] - PAGE_WINDOW)
            hi = min(len(page_text), span[1] + PAGE_WINDOW)
            return Passage(page_text[lo:hi], (span[0] - lo, span[1] - lo))
    return Passage(citation.quote, (0, len(citation.quote)))


def where_citation(citation: Citation) -> str:
    """``s. 14``, or for a text without pages ``linje 12–14 · under «Overskrift»``."""
    return _where(
        citation.page, citation.page_label, citation.line_start, citation.line_end, citation.heading
    )


def where_chunk(chunk: Chunk) -> str:
    return _where(chunk.page, chunk.page_label, chunk.line_start, chunk.line_end, chunk.heading)


def _where(page, page_label, first, last, heading) -> str:
    parts = [location_label(page, page_label, first, last)]
    if page is None and heading:
        parts.append(f"under «{heading}»")
    return " · ".join(p for p in parts if p) or "uten sidetall"


@dataclass(frozen=True)
class SourceView:
    """One entry of the sources panel (a citation, or a nearest passage under a refusal)."""

    number: int
    title: str
    where: str
    reference: str
    quote: str
    passage: Passage
    file: str = ""  # the cited file and PDF page, for «Vis siden»
    page: int | None = None

    @property
    def shows_page(self) -> bool:
        """A cited PDF page can be shown as an image (app/pageview.py)."""
        return self.page is not None and self.file.lower().endswith(".pdf")

    ocr: bool = False  # the quote is OCR text; shown with OCR_MARK

    def header_html(self) -> str:
        return block(
            f'<span class="kilde-marker">[{self.number}]</span> '
            f"<strong>{escape_html(self.title)}</strong>"
            f' <span class="kilde-where">{escape_html(self.where)}</span>',
            "kilde-source-head",
        )

    def snippet_html(self) -> str:
        return block(self.passage.snippet().html(), "kilde-passage")

    def passage_html(self) -> str:
        return block(self.passage.html(), "kilde-passage kilde-full")


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer
    sources: tuple[SourceView, ...] = field(default=())

    @property
    def refused(self) -> bool:
        return self.answer.refused


def make_turn(
    question: str,
    answer: Answer,
    docs: Mapping[str, DocInfo],
    page_text: Callable[[str, int | None], str | None],
) -> Turn:
    """A turn with its sources resolved. ``page_text(file, page)`` reads the index."""
    if answer.refused:
        sources = tuple(
            _nearest_view(n, hit.chunk, docs.get(hit.chunk.file))
            for n, hit in enumerate(answer.retrieved[:NEAREST_SHOWN], start=1)
        )
    else:
        sources = tuple(
            SourceView(
                number=n,
                title=c.title,
                where=where_citation(c),
                reference=c.reference,
                quote=c.quote,
                passage=find_passage(c, answer, page_text(c.file, c.page)),
                file=c.file,
                page=c.page,
                ocr=c.ocr,
            )
            for n, c in enumerate(answer.citations, start=1)
        )
    return Turn(question=question, answer=answer, sources=sources)


def _nearest_view(number: int, chunk: Chunk, doc: DocInfo | None) -> SourceView:
    return SourceView(
        number=number,
        title=doc.title if doc else chunk.title,
        where=where_chunk(chunk),
        reference=chunk_reference(doc, chunk, None, chunk.heading),
        quote="",
        passage=Passage(chunk.text, None),
    )


def answer_html(answer: Answer) -> str:
    """The answer's sentences, each followed by its citation marker [n]."""
    if answer.refused or not answer.sentences:
        return block(escape_html(answer.answer or REFUSAL_TEXT), "kilde-answer")
    parts = [
        f'{escape_html(s.text)} <span class="kilde-marker">[{s.citation + 1}]</span>'
        for s in answer.sentences
    ]
    return block(" ".join(parts), "kilde-answer")


# Why an answer was refused, one Norwegian line for the user per kilde.types.REFUSAL_REASONS;
# "language" is left out: its answer text already says what to do.
REFUSAL_WHY = {
    "coverage": "Dokumentene sier for lite om det spørsmålet gjelder.",
    "missing_detail": (
        "Tekstbitene som ligner mest, nevner ikke alle navnene og årstallene i spørsmålet."
    ),
    "refusal_head": (
        "Tekstbitene som ligner mest, handler om temaet, men svarer ikke på akkurat dette."
    ),
    "no_answer": "Ingen setning i tekstbitene som ligner mest, svarer på spørsmålet.",
    "unverified": "Svaret kunne ikke bekreftes ordrett i kildene, så det vises ikke.",
}


def refusal_why(answer: Answer) -> str | None:
    """One line saying why ``answer`` was refused; None when it was answered or the reason
    needs no line."""
    return REFUSAL_WHY.get(answer.refusal_reason) if answer.refused else None


def read_as(answer: Answer) -> str | None:
    """One line saying how a follow-up was read ("Og året før?" -> the earlier question with
    2023), so the user can check it; None when the question was searched as asked."""
    query = " ".join(answer.search_query.split())
    if not query or query == " ".join(answer.question.split()):
        return None
    return f"Lest som oppfølging: «{query}»"


def question_html(question: str) -> str:
    return block(escape_html(question), "kilde-question")


def answer_plain(answer: Answer) -> str:
    if answer.refused or not answer.sentences:
        text, why = answer.answer or REFUSAL_TEXT, refusal_why(answer)
        return f"{text} {why}" if why else text
    return " ".join(f"{s.text} [{s.citation + 1}]" for s in answer.sentences)
