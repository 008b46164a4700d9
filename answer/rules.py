"""The rules answerer: the best source sentences of the top passages, by hand-weighted scores.

An answer is at most ``max_sentences`` source sentences (``max_answer_chars`` in all), scored
against the question lexically (stemmed, idf-weighted term coverage) and with the embedder
(the cosine of its passage), plus what the question asks for (a figure, a date, a name). A
sentence that leans on a chosen one ("Der kom det fram at ...") joins it. The weights live in
``AnswerSettings``; the figures behind them are in docs/tuning.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kilde.config import AnswerSettings
from kilde.index.embedders import Embedder
from kilde.index.interface import Store
from kilde.text import analyze, sentence_spans, squash
from kilde.text.figures import extract_figures
from kilde.text.patterns import (
    ASKS,
    CONTINUES,
    DATE,
    DEFINITION,
    FIGURE,
    NAME,
    REFERENCE_LINE,
    question_kind,
)
from kilde.types import Draft, Retrieved, Span

from .followup import changed_year
from .gate import term_weight

MISSES_YEAR = 2.0  # more than a sentence's whole score can be

DEFAULTS = AnswerSettings()


def answer_shape_bonus(
    kind: str, sentence: str, question: str, settings: AnswerSettings = DEFAULTS
) -> float:
    """Reward a sentence that holds the kind of fact asked for; punish non-answers."""
    bonus = 0.0
    if kind == "number" and FIGURE.search(sentence):
        bonus += settings.w_shape
    elif kind == "date" and DATE.search(sentence):
        bonus += settings.w_shape
    elif kind == "definition" and DEFINITION.search(sentence):
        bonus += settings.w_shape
    elif kind == "entity":
        asked = set(question.lower().split())
        names = [m for m in NAME.findall(sentence) if m.lower() not in asked]
        if names:
            bonus += settings.w_shape * min(1.0, len(names) / 2)
    if len(sentence.split()) < 5 and not (kind in ("number", "date") and FIGURE.search(sentence)):
        bonus -= settings.p_shape  # a heading names a topic; it does not answer
    if REFERENCE_LINE.search(sentence):
        bonus -= settings.p_shape
    return bonus


def _near_duplicate(a: str, b: str) -> bool:
    """The same statement twice (two overlapping chunks, or two documents quoting it)."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) > 0.7


def same_statement(a: str, b: str) -> bool:
    """A near-duplicate whose figures (kilde.text.figures, normalised: "52 %" = "52%") are
    the same: sentences that differ only in their figures ("52 % i 2023", "46 % i 2024") are
    two facts. (The reader's test; the rules answerer's ``choose`` keeps to
    ``_near_duplicate``, as it was tuned with it.)"""
    if not _near_duplicate(a, b):
        return False
    return {(f.kind, f.value) for f in extract_figures(a)} == {
        (f.kind, f.value) for f in extract_figures(b)
    }


@dataclass(frozen=True)
class Candidate:
    """A source sentence with its score; ``start``/``end`` are offsets in the page text."""

    retrieved: Retrieved
    start: int
    end: int
    text: str
    score: float

    @property
    def position(self) -> tuple[str, int | None, int]:
        """Where the sentence starts: file, page and offset in the page text."""
        return (self.retrieved.chunk.file, self.retrieved.chunk.page, self.start)

    @property
    def next_position(self) -> tuple[str, int | None, int]:
        """Where the sentence after this one starts, if it is in the same chunk."""
        chunk = self.retrieved.chunk
        rest = chunk.text[self.end - chunk.start :]
        return (chunk.file, chunk.page, self.end + len(rest) - len(rest.lstrip()))

    def span(self) -> Span:
        return Span(chunk=self.retrieved.chunk, start=self.start, end=self.end, text=self.text)


def score_candidates(
    question: str,
    query: str,
    passages: Sequence[Retrieved],
    cosines: Sequence[float],
    idf: Mapping[str, float],
    settings: AnswerSettings = DEFAULTS,
) -> list[Candidate]:
    """Every sentence of ``passages``, scored against the question and sorted best first.
    ``cosines[i]`` is passage i's cosine with the query; rank priors follow list order."""
    terms = set(analyze(query))
    # A follow-up's answer must hold the year it changed to ("Og for 2026?"): without it, the
    # earlier question's own sentence would match best. The penalty outweighs any match
    # score, so such a sentence is chosen only when no candidate holds the year.
    changed = changed_year(question, query)
    # The follow-up's own words weigh double: they say what changed. A year it names relative
    # to the earlier question ("året før") stands in the query as the year itself.
    own_terms = set(analyze(question)) | changed

    def weight(term: str) -> float:
        return term_weight(idf, term) * (2 if term in own_terms else 1)

    total = sum(weight(t) for t in terms) or 1.0
    kind = question_kind(question)
    if kind == "other" and query != question and not ASKS.match(question):
        kind = question_kind(query)  # "Og i 2023?" wants what the earlier question wanted
    seen: set[tuple[str, int | None, int]] = set()
    out: list[Candidate] = []
    for rank, (hit, cosine) in enumerate(zip(passages, cosines, strict=True), start=1):
        chunk = hit.chunk
        previous_lexical = 0.0
        for a, b in sentence_spans(chunk.text):
            text = chunk.text[a:b]
            stems = analyze(text)
            lexical = sum(weight(t) for t in set(stems) & terms) / total
            # A sentence right after a matching one (a heading and its figures) inherits
            # part of its match.
            context = max(lexical, settings.w_context * previous_lexical)
            previous_lexical = lexical
            key = (chunk.file, chunk.page, chunk.start + a)
            if key in seen or len(text) > settings.max_answer_chars:
                continue
            seen.add(key)
            novelty = len(set(stems) - terms) / max(len(set(stems)), 1)
            score = (
                context
                + settings.w_passage * cosine
                + settings.w_rank / rank
                + settings.w_novelty * novelty
                + answer_shape_bonus(kind, text, question, settings)
                - (MISSES_YEAR if changed and not changed & set(stems) else 0.0)
            )
            out.append(Candidate(hit, chunk.start + a, chunk.start + b, text, score))
    out.sort(key=lambda c: -c.score)
    return out


def choose(candidates: Sequence[Candidate], settings: AnswerSettings = DEFAULTS) -> list[Candidate]:
    """The answer's sentences: the best ones within the sentence and character budget, each
    scoring at least ``keep_ratio`` of the best, no near-duplicates. A sentence that leans on
    a chosen one ("Der kom det fram at ...") comes with it, whatever its own score."""
    by_position = {c.position: c for c in candidates}
    chosen: list[Candidate] = []
    used = 0

    def take(cand: Candidate) -> bool:
        nonlocal used
        length = len(squash(cand.text)) + (1 if chosen else 0)
        if len(chosen) == settings.max_sentences:
            return False
        if used + length > settings.max_answer_chars:
            return False
        if any(c is cand or _near_duplicate(cand.text, c.text) for c in chosen):
            return False
        chosen.append(cand)
        used += length
        return True

    for cand in candidates:
        if len(chosen) == settings.max_sentences:
            break
        if chosen and cand.score < settings.keep_ratio * chosen[0].score:
            break
        if take(cand):
            follower = by_position.get(cand.next_position)
            if follower is not None and CONTINUES.match(follower.text):
                take(follower)
    return chosen


class RulesAnswerer:
    """Answerer stage: picks source sentences by hand-weighted scores."""

    name = "rules"

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        idf: Mapping[str, float],
        settings: AnswerSettings = DEFAULTS,
    ):
        self.store = store
        self.embedder = embedder
        self.idf = idf
        self.settings = settings

    def candidates(
        self, question: str, query: str, passages: Sequence[Retrieved]
    ) -> list[Candidate]:
        """Every sentence of the top passages with its rules score, best first."""
        # The passages the retrieval scored best, in its order, whatever a reranker made of
        # the list (it orders the sources shown): the rank prior was tuned on this order, and
        # the lexical term already rewards what the sentence reranker does. Fed the reranked
        # order, the answers lost 0.3-4.5 points (docs/tuning.md, "Reranking").
        passages = sorted(passages, key=lambda p: -p.score)[: self.settings.answer_passages]
        if not passages:
            return []
        vectors = self.store.chunk_vectors([p.chunk.chunk_id for p in passages])
        cosines = [float(v) for v in vectors @ self.embedder.embed_query(query)]
        return score_candidates(question, query, passages, cosines, self.idf, self.settings)

    def draft(self, question: str, query: str, passages: Sequence[Retrieved]) -> Draft:
        chosen = choose(self.candidates(question, query, passages), self.settings)
        return Draft(spans=tuple(c.span() for c in chosen), answerer=self.name)
