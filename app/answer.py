"""Extractive answers: the best sentences of the top passages, each with a verified citation.

No language model is available offline, so an answer is at most ``max_sentences`` source
sentences (``max_answer_chars`` in all), scored against the question lexically (stemmed,
idf-weighted term coverage) and with the embedder (the cosine of its passage). A sentence
that leans on a chosen one ("Der kom det fram at ...") joins it. When the documents cover
too little of the question (see ``evidence``), kilde refuses and still returns the nearest
passages.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kilde.config import Settings
from kilde.index.embedders import Embedder
from kilde.index.retrieval import Retriever
from kilde.index.sparse import analyze
from kilde.index.store import IndexStore
from kilde.types import REFUSAL_TEXT, Answer, AnswerSentence, Citation, Filters, Retrieved

from . import followup
from .citations import make_citation, squash, verify
from .sentences import sentence_spans

# Weights of the sentence score, chosen on the gold set (docs/tuning.md).
W_PASSAGE = 0.5  # cosine of the sentence's passage with the question
W_RANK = 0.1  # prior for the passage's retrieval rank
W_CONTEXT = 0.5  # share of the previous sentence's match a sentence inherits
W_NOVELTY = 0.2  # share of the sentence's words that the question does not have
W_SHAPE = 0.3  # the sentence holds what the question asks for (a figure, a date, a name)
P_SHAPE = 0.3  # penalty for headings and reference lines, which answer nothing
KEEP_RATIO = 0.85  # a further sentence must score this share of the best one

_NUMBER_Q = re.compile(
    r"\b(hvor (mange|mye|stor|store|høy|høye|lang|lenge|langt)|andel\w*|prosent\w*|antall"
    r"|kostet|koste|kostnad\w*|beløp|tall|skår\w*|nivå)\b",
    re.IGNORECASE,
)
_DATE_Q = re.compile(r"\b(når|hvilket år|hvilken dato|dato|tidspunkt)\b", re.IGNORECASE)
_DEFINITION_Q = re.compile(
    r"\bhva (menes|mener\b.*\bmed|forstås|betyr|innebærer|regnes som|vil det si)", re.IGNORECASE
)
_ENTITY_Q = re.compile(r"\b(hvem|hvilke[nt]?|hva heter)\b", re.IGNORECASE)
_FIGURE = re.compile(r"\d")
# "Med dette mener vi ...", "... defineres som ...": the wording of a definition.
_DEFINITION = re.compile(
    r"\b(mener vi|menes|defineres|definert som|forstås som|betyr|innebærer|regnes som)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(\d{1,2}\.\s*(jan|feb|mar|apr|mai|jun|jul|aug|sep|okt|nov|des)\w*|(19|20)\d\d)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÆØÅ][\wæøåÆØÅ.-]+")
_REFERENCE_LINE = re.compile(r"(hentedato|https?://|www\.|<[^>]+>|\bISBN\b)", re.IGNORECASE)


def question_kind(question: str) -> str:
    """What shape of fact the question wants: definition, number, date, entity or other."""
    if _DEFINITION_Q.search(question):
        return "definition"
    if _DATE_Q.search(question):
        return "date"
    if _NUMBER_Q.search(question):
        return "number"
    if _ENTITY_Q.search(question):
        return "entity"
    return "other"


def answer_shape_bonus(kind: str, sentence: str, question: str) -> float:
    """Reward a sentence that holds the kind of fact asked for; punish non-answers."""
    bonus = 0.0
    if kind == "number" and _FIGURE.search(sentence):
        bonus += W_SHAPE
    elif kind == "date" and _DATE.search(sentence):
        bonus += W_SHAPE
    elif kind == "definition" and _DEFINITION.search(sentence):
        bonus += W_SHAPE
    elif kind == "entity":
        asked = set(question.lower().split())
        names = [m for m in _NAME.findall(sentence) if m.lower() not in asked]
        if names:
            bonus += W_SHAPE * min(1.0, len(names) / 2)
    if len(sentence.split()) < 5 and not (kind in ("number", "date") and _FIGURE.search(sentence)):
        bonus -= P_SHAPE  # a heading names a topic; it does not answer
    if _REFERENCE_LINE.search(sentence):
        bonus -= P_SHAPE
    return bonus


# The opening of a sentence that leans on the one before it.
_CONTINUES = re.compile(
    r"(der|dette|disse|denne|derfor|årsaken|med dette|det skyldes|det vil si)\b", re.IGNORECASE
)


def _next_position(cand: _Candidate) -> tuple[str, int | None, int]:
    """Where the sentence after ``cand`` starts, if it is in the same chunk."""
    chunk = cand.retrieved.chunk
    rest = chunk.text[cand.end - chunk.start :]
    return (chunk.file, chunk.page, cand.end + len(rest) - len(rest.lstrip()))


def _near_duplicate(a: str, b: str) -> bool:
    """The same statement twice (two overlapping chunks, or two documents quoting it)."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) > 0.7


class Answerer(Protocol):
    def answer(
        self, question: str, history: Sequence[str] = (), filters: Filters | None = None
    ) -> Answer: ...


@dataclass(frozen=True)
class _Candidate:
    retrieved: Retrieved
    rank: int
    start: int  # offsets in the page text
    end: int
    text: str
    lexical: float
    passage_cosine: float
    score: float

    @property
    def position(self) -> tuple[str, int | None, int]:
        """Where the sentence starts: file, page and offset in the page text."""
        return (self.retrieved.chunk.file, self.retrieved.chunk.page, self.start)


class ExtractiveAnswerer:
    """Picks and cites source sentences. All components are passed in explicitly."""

    def __init__(
        self,
        store: IndexStore,
        embedder: Embedder,
        retriever: Retriever,
        settings: Settings,
    ):
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.settings = settings
        self._idf = _idf_table(store)
        self._rows = {c.chunk_id: i for i, c in enumerate(store.chunks)}

    def answer(
        self, question: str, history: Sequence[str] = (), filters: Filters | None = None
    ) -> Answer:
        started = time.perf_counter()
        query = followup.resolve(question, history)
        retrieved = self.retriever.retrieve(query, max(self.settings.top_k, 10), filters)
        evidence = self.evidence(query, retrieved)
        chosen: list[_Candidate] = []
        if not self._too_weak(evidence):
            query_vector = self.embedder.embed_query(query)
            chosen = self._choose(self._candidates(query, question, query_vector, retrieved))
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        for cand in chosen:
            chunk = cand.retrieved.chunk
            page_text = self.store.page_text(chunk.file, chunk.page) or ""
            citation = make_citation(
                self.store.docs.get(chunk.file),
                chunk,
                page_text,
                cand.start,
                cand.end,
                self.store.line_map(chunk.file, chunk.page),
            )
            if not verify(citation, page_text):  # never show a quote that is not on its page
                continue
            citations.append(citation)
            sentences.append(AnswerSentence(text=citation.quote, citation=len(citations) - 1))
        refused = not sentences  # nothing strong enough, or nothing that verified
        return Answer(
            question=question,
            answer=REFUSAL_TEXT if refused else " ".join(s.text for s in sentences),
            refused=refused,
            sentences=tuple(sentences),
            citations=tuple(citations),
            retrieved=tuple(retrieved),
            latency_ms=(time.perf_counter() - started) * 1000,
            search_query=query,
            meta=evidence,
        )

    def evidence(self, query: str, retrieved: Sequence[Retrieved]) -> dict[str, float]:
        """How well the documents cover the question, from its idf-weighted terms:
        ``unknown`` is the share no document has at all; ``coverage`` the largest share one
        of the top passages holds. Refusal is decided on these two."""
        terms = set(analyze(query))
        total = sum(self._weight(t) for t in terms) or 1.0
        unknown = sum(self._weight(t) for t in terms if t not in self._idf) / total
        coverage = 0.0
        for hit in retrieved[: self.settings.answer_passages]:
            held = terms & set(analyze(hit.chunk.text))
            coverage = max(coverage, sum(self._weight(t) for t in held) / total)
        return {"unknown": unknown, "coverage": coverage}

    def _too_weak(self, evidence: dict[str, float]) -> bool:
        return (
            evidence["unknown"] >= self.settings.refuse_unknown_share
            or evidence["coverage"] < self.settings.refuse_min_coverage
        )

    def _candidates(
        self,
        query: str,
        question: str,
        query_vector: np.ndarray,
        retrieved: Sequence[Retrieved],
    ) -> list[_Candidate]:
        terms = set(analyze(query))
        # The follow-up's own words weigh double: they say what changed.
        own_terms = set(analyze(question))
        total = sum(self._weight(t) * (2 if t in own_terms else 1) for t in terms) or 1.0
        kind = question_kind(question)
        rows = self._rows
        seen: set[tuple[str, int | None, int]] = set()
        out: list[_Candidate] = []
        for rank, hit in enumerate(retrieved[: self.settings.answer_passages], start=1):
            chunk = hit.chunk
            row = rows.get(chunk.chunk_id)
            cosine = float(self.store.vectors[row] @ query_vector) if row is not None else 0.0
            previous_lexical = 0.0
            for a, b in sentence_spans(chunk.text):
                text = chunk.text[a:b]
                stems = analyze(text)
                found = set(stems) & terms
                lexical = sum(self._weight(t) * (2 if t in own_terms else 1) for t in found)
                lexical /= total
                # A sentence right after a matching one (a heading and its figures) inherits
                # part of its match.
                context = max(lexical, W_CONTEXT * previous_lexical)
                previous_lexical = lexical
                key = (chunk.file, chunk.page, chunk.start + a)
                if key in seen or len(text) > self.settings.max_answer_chars:
                    continue
                seen.add(key)
                novelty = len(set(stems) - terms) / max(len(set(stems)), 1)
                score = (
                    context
                    + W_PASSAGE * cosine
                    + W_RANK / rank
                    + W_NOVELTY * novelty
                    + answer_shape_bonus(kind, text, question)
                )
                out.append(
                    _Candidate(
                        hit, rank, chunk.start + a, chunk.start + b, text, lexical, cosine, score
                    )
                )
        out.sort(key=lambda c: -c.score)
        return out

    def _choose(self, candidates: list[_Candidate]) -> list[_Candidate]:
        by_position = {c.position: c for c in candidates}
        chosen: list[_Candidate] = []
        used = 0

        def take(cand: _Candidate) -> bool:
            nonlocal used
            length = len(squash(cand.text)) + (1 if chosen else 0)
            if len(chosen) == self.settings.max_sentences:
                return False
            if used + length > self.settings.max_answer_chars:
                return False
            if any(c is cand or _near_duplicate(cand.text, c.text) for c in chosen):
                return False
            chosen.append(cand)
            used += length
            return True

        for cand in candidates:
            if len(chosen) == self.settings.max_sentences:
                break
            if chosen and cand.score < KEEP_RATIO * chosen[0].score:
                break
            if take(cand):
                # "Der kom det fram at ...": a sentence that goes on from this one belongs
                # with it, whatever its own score.
                follower = by_position.get(_next_position(cand))
                if follower is not None and _CONTINUES.match(follower.text):
                    take(follower)
        return chosen

    def _weight(self, term: str) -> float:
        return self._idf.get(term, self._idf.get("", 1.0))


def _idf_table(store: IndexStore) -> dict[str, float]:
    """Smoothed idf of every stemmed term over the chunks; "" holds the unseen-term value."""
    df: Counter[str] = Counter()
    for chunk in store.chunks:
        df.update(set(analyze(chunk.text)))
    n = max(len(store.chunks), 1)
    table = {t: math.log(1 + n / c) for t, c in df.items()}
    table[""] = math.log(1 + n)
    return table
