"""Source check: each statement of a draft briefing note gets its source, or a warning.

A statement is one sentence of the draft (or one line of a list). It is looked up with the
same retriever as ``ask``; then every sentence of the top passages is compared with it:

- the *words*: the idf-weighted share of the statement's stemmed words, figures left out,
  that the source sentence holds (``match``);
- the *figures*: numbers, percentages, years and dates, normalised and compared exactly
  (``kilde.text.figures``);
- *negation*: "ikke", "ingen", "aldri" on one side only turns a statement around.

``supported`` needs a source sentence holding nearly all the words and every figure;
``mismatch`` a sentence holding nearly all the words where a figure of the statement stands
as a different figure of the same kind; anything else is ``not_found``: a near miss is never
stretched into support. Citations are built and verified exactly as ``ask``'s are.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kilde.config import SourceCheckSettings
from kilde.errors import KildeError
from kilde.text import analyze, sentence_spans, squash, words
from kilde.text.figures import Figure, compare_figures, extract_figures, without_figures
from kilde.types import Citation, DocInfo, Retrieved, Span

from .cite import Citer
from .gate import term_weight

SUPPORTED = "supported"
MISMATCH = "mismatch"
NOT_FOUND = "not_found"
STATUSES = (SUPPORTED, MISMATCH, NOT_FOUND)
STATUS_LABELS = {SUPPORTED: "Støttet", MISMATCH: "Tall avviker", NOT_FOUND: "Ikke funnet"}

NEGATIONS = frozenset("ikke ingen intet ingenting aldri verken".split())
# "Alle kommunene ..." claims more than "39 av 357 kommuner ...": a claim for all needs a
# source that says all.
UNIVERSALS = frozenset("alle samtlige hele".split())
# Currency words belong to the figure ("3,7 milliarder kroner" = "3,7MRD NOK"), whose value is
# compared exactly; as words they would only make a paraphrase look different.
CURRENCY = frozenset(analyze("kroner kr nok mnok"))
# A name: a capitalised word with lower-case letters (not an acronym), not opening the
# statement, where a capital says nothing.
_NAME = re.compile(r"(?<=[\s(«\"-])[A-ZÆØÅ][a-zæøå]{2,}[\wæøå-]*")
DRAFT_TYPES = (".txt", ".md", ".docx")


class DraftError(KildeError):
    """A draft that cannot be read."""


@dataclass(frozen=True)
class Mismatch:
    """A figure as the draft gives it, and as the source sentence gives it."""

    draft: str
    source: str


@dataclass(frozen=True)
class StatementCheck:
    """One statement of the draft (``draft_text[start:end]``) and what the sources say."""

    text: str
    start: int
    end: int
    status: str
    citations: tuple[Citation, ...] = ()
    mismatches: tuple[Mismatch, ...] = ()
    match: float = 0.0  # word match of the best source sentence (for tuning and display)


@dataclass(frozen=True)
class DraftCheck:
    draft: str
    statements: tuple[StatementCheck, ...] = ()
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.statements if c.status == s) for s in STATUSES}


@dataclass(frozen=True)
class _Candidate:
    hit: Retrieved
    start: int  # offsets in the page text
    end: int
    text: str
    match: float
    missing: tuple[Figure, ...]
    pairs: tuple[tuple[Figure, Figure], ...]
    agrees: bool  # negation, "all" and the names of the claim stand in the source too


@dataclass
class SourceChecker:
    """Checks statements against an index. ``retrieve`` is the ``ask`` retriever's method;
    ``page_text`` and ``documents`` come from the same store."""

    retrieve: Callable[..., list[Retrieved]]
    page_text: Callable[[str, int | None], str | None]
    documents: Mapping[str, DocInfo]
    idf: Mapping[str, float]
    settings: SourceCheckSettings = field(default_factory=SourceCheckSettings)
    # The page's map back to the file's lines, so text citations name the lines an editor shows.
    line_map: Callable[[str, int | None], tuple] = lambda file, page: ()

    @classmethod
    def from_engine(cls, engine, settings: SourceCheckSettings | None = None) -> SourceChecker:
        store = engine.store
        return cls(
            retrieve=engine.retriever.retrieve,
            page_text=store.page_text,
            documents=store.documents(),
            idf=store.term_stats().idf_table(),
            settings=settings or engine.settings.sourcecheck,
            line_map=store.line_map,
        )

    def check_draft(self, draft: str) -> DraftCheck:
        started = time.perf_counter()
        checks = tuple(self.check(draft[a:b], a, b) for a, b in statement_spans(draft))
        return DraftCheck(draft, checks, time.perf_counter() - started)

    def check(self, statement: str, start: int = 0, end: int | None = None) -> StatementCheck:
        end = len(statement) if end is None else end
        # Figures are named as the draft writes them (a no-break space stays one).
        claim = _strip_marker(statement).strip()
        hits = self.retrieve(squash(claim), self.settings.passages)
        candidates = self._candidates(claim, hits[: self.settings.passages])
        s = self.settings
        supported = [
            c for c in candidates if c.match >= s.support_min_match and not c.missing and c.agrees
        ]
        if supported:
            best = max(supported, key=lambda c: c.match)
            return self._result(statement, start, end, SUPPORTED, best)
        differing = [
            c for c in candidates if c.match >= s.mismatch_min_match and c.pairs and c.agrees
        ]
        if differing:
            best = max(differing, key=lambda c: (c.match, len(c.pairs)))
            return self._result(statement, start, end, MISMATCH, best)
        top = max((c.match for c in candidates), default=0.0)
        return StatementCheck(statement, start, end, NOT_FOUND, match=top)

    def _candidates(self, claim: str, hits: Sequence[Retrieved]) -> list[_Candidate]:
        terms = set(analyze(without_figures(claim))) - CURRENCY
        total = sum(term_weight(self.idf, t) for t in terms) or 1.0
        claim_figures = extract_figures(claim)
        claim_words = set(words(claim))
        claim_negated = bool(NEGATIONS & claim_words)
        claim_universal = UNIVERSALS & claim_words
        names = {t for name in _NAME.findall(" " + claim) for t in analyze(name)}
        seen: set[tuple[str, int | None, int]] = set()
        out: list[_Candidate] = []
        for hit in hits:
            chunk = hit.chunk
            previous = ""
            title = set(analyze(chunk.title))
            for a, b in sentence_spans(chunk.text):
                text = chunk.text[a:b]
                context, previous = previous, text
                key = (chunk.file, chunk.page, chunk.start + a)
                if key in seen:
                    continue
                seen.add(key)
                stems = set(analyze(text))
                held = terms & stems
                match = sum(term_weight(self.idf, t) for t in held) / total
                if match < self.settings.mismatch_min_match:
                    continue
                missing, pairs = compare_figures(claim_figures, extract_figures(text), claim, text)
                source_words = set(words(text))
                # A name the source sentence lacks may stand in the sentence before it or in
                # the document's title ("løsningen" for Helseplattformen); anywhere else,
                # the source speaks of someone else.
                names_held = names <= stems | set(analyze(context)) | title
                agrees = (
                    bool(NEGATIONS & source_words) == claim_negated
                    and claim_universal <= source_words
                    and names_held
                )
                out.append(
                    _Candidate(
                        hit,
                        chunk.start + a,
                        chunk.start + b,
                        text,
                        match,
                        tuple(missing),
                        tuple(pairs),
                        agrees,
                    )
                )
        return out

    def _result(
        self, statement: str, start: int, end: int, status: str, best: _Candidate
    ) -> StatementCheck:
        citation = self._citation(best)
        if citation is None:  # the quote did not verify: say nothing rather than cite wrongly
            return StatementCheck(statement, start, end, NOT_FOUND, match=best.match)
        mismatches = ()
        if status == MISMATCH:
            mismatches = tuple(Mismatch(d.text, s.text) for d, s in best.pairs)
        return StatementCheck(statement, start, end, status, (citation,), mismatches, best.match)

    def _citation(self, cand: _Candidate) -> Citation | None:
        span = Span(cand.hit.chunk, cand.start, cand.end, cand.text)
        return Citer(self.page_text, self.documents, self.line_map).citation(span)


def _strip_marker(text: str) -> str:
    """A statement without its list marker ("- ", "• ", "3. ")."""
    stripped = text.lstrip()
    for marker in ("- ", "• ", "* ", "– "):
        if stripped.startswith(marker):
            return stripped[len(marker) :]
    return stripped


def statement_spans(draft: str) -> list[tuple[int, int]]:
    """The statements of a draft: its sentences and list lines, headings left out."""
    spans = []
    for a, b in sentence_spans(draft):
        piece = draft[a:b]
        if piece.lstrip().startswith("#") or not any(ch.isalpha() for ch in piece):
            continue
        spans.append((a, b))
    return spans


def read_draft(source: str | Path, stdin=None) -> str:
    """The text of a draft: a .txt, .md or .docx file, or ``-`` for standard input."""
    if str(source) == "-":
        import sys

        return (stdin or sys.stdin).read()
    path = Path(source)
    if not path.is_file():
        raise DraftError(f"fant ikke utkastet {path}; oppgi en .txt-, .md- eller .docx-fil")
    suffix = path.suffix.lower()
    if suffix not in DRAFT_TYPES:
        raise DraftError(
            f"{path.name}: kan bare lese .txt, .md og .docx; lagre utkastet som en av dem"
        )
    if suffix == ".docx":
        return docx_text(path.read_bytes(), path.name)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DraftError(f"{path.name}: ikke UTF-8-tekst; lagre filen som UTF-8") from exc


def docx_text(data: bytes, name: str = "utkastet") -> str:
    """The paragraphs of a Word draft, one block each."""
    import io

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx and zipfile raise many kinds on damaged files
        raise DraftError(f"{name}: ikke en lesbar Word-fil; åpne og lagre den på nytt") from exc
    return "\n\n".join(p.text.strip() for p in document.paragraphs if p.text.strip())


def check_to_dict(check: DraftCheck) -> dict:
    """The ``kilde cite --json`` form; citations as in ``ask --json``."""
    from .serialize import citation_to_dict

    return {
        "statements": [
            {
                "text": s.text,
                "status": s.status,
                "citations": [citation_to_dict(c) for c in s.citations],
                "mismatches": [{"draft": m.draft, "source": m.source} for m in s.mismatches],
            }
            for s in check.statements
        ]
    }


def check_lines(check: DraftCheck) -> list[str]:
    """The plain-text report of ``kilde cite``: each statement, its status and its source."""
    lines: list[str] = []
    for n, s in enumerate(check.statements, start=1):
        lines.append(f"[{n}] {STATUS_LABELS[s.status].upper()}: {squash(_strip_marker(s.text))}")
        for m in s.mismatches:
            lines.append(f"    Utkastet sier «{m.draft}», kilden sier «{m.source}».")
        for c in s.citations:
            lines.append(f"    Kilde: {c.reference}")
            lines.append(f"    «{c.quote}»")
        if s.status == NOT_FOUND:
            lines.append("    Fant ingen kilde i dokumentene som sier dette.")
    counts = check.counts()
    lines.append("")
    lines.append(
        f"{len(check.statements)} utsagn: {counts[SUPPORTED]} støttet, {counts[MISMATCH]} med "
        f"avvikende tall, {counts[NOT_FOUND]} ikke funnet ({check.seconds:.1f} s)."
    )
    return lines
