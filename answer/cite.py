"""Citations: a quote, where it stands, and a reference string for a briefing note.

A citation is only ever built from the page text stored in the index. ``verify`` checks, just
before a citation is shown, that the page slice it points at is the text the answerer chose
and that its quote stands on that page; a citation that fails is dropped, never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from kilde.ingest.linemap import LineMap, source_lines
from kilde.text import location_label, squash
from kilde.text.headings import section_heading
from kilde.types import AnswerSentence, Chunk, Citation, DocInfo, Draft, Span


def verify(citation: Citation, page_text: str | None, start: int, end: int, chosen: str) -> bool:
    """True when ``page_text[start:end]`` is the chosen text and the quote is that slice,
    whitespace aside: the quote shown is exactly what stands where the citation points."""
    if not page_text or not chosen.strip() or not citation.quote.strip():
        return False
    if not 0 <= start < end <= len(page_text):
        return False
    piece = squash(page_text[start:end])
    return piece == squash(chosen) and squash(citation.quote) == piece


def reference(
    doc: DocInfo | None,
    chunk: Chunk,
    line_span: tuple[int, int] | None = None,
    heading: str | None = None,
) -> str:
    """``Utgiver (år): Tittel, s. 14.`` or, for a text without pages, lines and heading."""
    title = (doc.title if doc else chunk.title).rstrip(". ")
    publisher = doc.publisher if doc else None
    year = doc.year if doc else None
    head = title
    if publisher:
        head = f"{publisher} ({year}): {title}" if year else f"{publisher}: {title}"
    elif year:
        head = f"{title} ({year})"
    lines = line_span or (None, None)
    where = location_label(chunk.page, chunk.page_label, *lines)
    where = f", {where}" if where else ""
    if chunk.page is None and heading:
        where += f" (under «{heading}»)"
    return f"{head}{where}."


def make_citation(
    doc: DocInfo | None,
    chunk: Chunk,
    page_text: str,
    start: int,
    end: int,
    line_map: LineMap = (),
) -> Citation:
    """A citation of ``page_text[start:end]`` (offsets in the page), which lies in ``chunk``.

    ``line_map`` (the page's, see kilde.ingest.linemap) gives a text without pages the lines
    of the file that hold the quote."""
    quote = squash(page_text[start:end])
    line_span = None
    heading = None
    if chunk.page is None:
        line_span = source_lines(line_map, start, end)
        heading = section_heading(page_text, start)
    return Citation(
        file=chunk.file,
        title=doc.title if doc else chunk.title,
        page=chunk.page,
        page_label=chunk.page_label,
        quote=quote,
        reference=reference(doc, chunk, line_span, heading),
        line_start=line_span[0] if line_span else None,
        line_end=line_span[1] if line_span else None,
        heading=heading,
        ocr=chunk.ocr,
    )


class Citer:
    """Pipeline stage: turns a draft's spans into numbered sentences with verified citations.
    ``page_text`` and ``documents`` come from the store the passages came from."""

    def __init__(
        self,
        page_text: Callable[[str, int | None], str | None],
        documents: Mapping[str, DocInfo],
        line_map: Callable[[str, int | None], LineMap] | None = None,
    ):
        self.page_text = page_text
        self.documents = documents
        self.line_map = line_map or (lambda file, page: ())

    def citation(self, span: Span) -> Citation | None:
        """The verified citation of ``span``; None when it points outside its page or its
        quote is not what the page holds there (such a span is never shown)."""
        chunk = span.chunk
        page_text = self.page_text(chunk.file, chunk.page) or ""
        if not 0 <= span.start < span.end <= len(page_text):
            return None
        citation = make_citation(
            self.documents.get(chunk.file),
            chunk,
            page_text,
            span.start,
            span.end,
            self.line_map(chunk.file, chunk.page),
        )
        return citation if verify(citation, page_text, span.start, span.end, span.text) else None

    def cite(self, draft: Draft) -> tuple[list[AnswerSentence], list[Citation]]:
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        for span in draft.spans:
            citation = self.citation(span)
            if citation is None:
                continue
            citations.append(citation)
            shown = squash(span.claim) if span.claim else citation.quote
            sentences.append(AnswerSentence(text=shown, citation=len(citations) - 1))
        return sentences, citations


def numbered_answer(sentences: Sequence[AnswerSentence]) -> str:
    """``Sentence one. [1] Sentence two. [2]``: the answer with its citation numbers."""
    return " ".join(f"{s.text} [{s.citation + 1}]" for s in sentences)
