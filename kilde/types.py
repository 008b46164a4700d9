"""Shared value types. Small, frozen, and free of behaviour beyond trivial helpers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """The cleaned text of one page of a source file.

    ``page`` is the 1-based physical page (PDF page, or form-feed page of a text file);
    it is None for a text with no page breaks, which is then one Page for the whole file.
    ``page_label`` is the printed label ("iv", "12") where the source has one.
    ``line_map`` leads from ``text`` back to the file's lines (see kilde.ingest.linemap);
    it is set for a text with no page breaks, empty otherwise.
    """

    file: str  # path relative to the corpus folder, with forward slashes
    page: int | None
    page_label: str | None
    text: str
    line_map: tuple[tuple[int, int], ...] = ()
    ocr: bool = False  # the text was read by OCR from an image of the page


@dataclass(frozen=True)
class DocInfo:
    """What the index knows of one source file (catalog entry plus what ingest found)."""

    file: str
    title: str
    publisher: str | None = None
    date: str | None = None  # ISO date or year, as the catalog gives it
    pages: int = 0  # number of Page units
    paged: bool = True  # False for a text with no page breaks
    sha256: str = ""

    @property
    def year(self) -> int | None:
        if self.date and self.date[:4].isdigit():
            return int(self.date[:4])
        return None


@dataclass(frozen=True)
class Chunk:
    """A passage of one page: ``text == page.text[start:end]``.

    For a text with no page breaks, ``line_start``/``line_end`` (1-based, inclusive lines of
    the file as stored) and the nearest preceding ``heading`` stand in for the page.
    """

    chunk_id: str
    file: str
    title: str
    page: int | None
    page_label: str | None
    start: int
    end: int
    text: str
    line_start: int | None = None
    line_end: int | None = None
    heading: str | None = None
    ocr: bool = False  # its page was read by OCR


@dataclass(frozen=True)
class Retrieved:
    """A chunk with its retrieval score, best first in any list of them."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class Filters:
    """Restricts retrieval. Empty tuples and None mean no restriction."""

    files: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def is_empty(self) -> bool:
        return not (self.files or self.publishers or self.year_from or self.year_to)

    def admits(self, file: str, doc: DocInfo) -> bool:
        """Whether ``file`` (described by ``doc``) passes these filters."""
        if self.files and file not in self.files:
            return False
        if self.publishers and doc.publisher not in self.publishers:
            return False
        year = doc.year
        if self.year_from and (year is None or year < self.year_from):
            return False
        return not (self.year_to and (year is None or year > self.year_to))


@dataclass(frozen=True)
class Citation:
    """A verified quote: ``quote`` stands verbatim (whitespace aside) on the cited page."""

    file: str
    title: str
    page: int | None  # physical page where the quote starts
    page_label: str | None
    quote: str
    reference: str  # ready for a briefing note: "Utgiver (år): Tittel, s. 14."
    line_start: int | None = None
    line_end: int | None = None
    heading: str | None = None
    ocr: bool = False  # the quote is OCR text: verified against that, not the original


@dataclass(frozen=True)
class Span:
    """A piece of a page an answerer chose: ``text`` is ``page_text[start:end]`` of the page
    that ``chunk`` lies on (offsets in the page, not the chunk)."""

    chunk: Chunk
    start: int
    end: int
    text: str
    # The sentence shown in the answer when it is not the quote itself (an LLM's own wording,
    # whose cited quote is ``text``). Verification always compares the page with ``text``.
    claim: str | None = None


@dataclass(frozen=True)
class Draft:
    """What an answerer returns: the spans that make up the answer, in answer order. No spans
    means the answerer found nothing to say (a refusal)."""

    spans: tuple[Span, ...] = ()
    answerer: str = ""
    dropped_claims: int = 0  # sentences whose quote did not stand in the source: never shown
    notice: str = ""  # one Norwegian line for the user (e.g. the LLM failed; rules answered)
    refusal: str = ""  # with no spans, why (one of REFUSAL_REASONS), when the answerer knows


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer and the index of its citation in ``Answer.citations``."""

    text: str
    citation: int


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    refused: bool
    sentences: tuple[AnswerSentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[Retrieved, ...] = ()
    latency_ms: float = 0.0
    search_query: str = ""  # the question as resolved against earlier turns
    answerer: str = ""  # which answerer wrote it: "rules", "baseline", ...
    dropped_claims: int = 0  # answer sentences dropped because their quote did not verify
    notice: str = ""  # one Norwegian line about how the answer came about ("" when nothing)
    refusal_reason: str = ""  # why it was refused, one of REFUSAL_REASONS ("" when answered)


REFUSAL_TEXT = "Jeg fant ikke svar på dette i dokumentene."

# Why an answer was refused (``Answer.refusal_reason``, "refusal_reason" in ``ask --json``),
# in the order the pipeline decides.
REFUSAL_REASONS = {
    "language": "the question is not in Norwegian",
    "coverage": "the documents cover too little of the question (the evidence gate)",
    "missing_detail": "a name or year of the question stands in none of the answer's passages",
    "refusal_head": "the reader's refusal head judged the kept sentences not to answer it",
    "no_answer": "the answerer found nothing to say (for the LLM: the model said so)",
    "unverified": "no quote of the answer stood in its source",
}
