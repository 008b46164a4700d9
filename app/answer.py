"""Extractive answers: the best sentences of the top passages, each with a verified citation.

No language model is available offline, so an answer is at most ``max_sentences`` source
sentences (``max_answer_chars`` in all), scored against the question lexically (stemmed,
idf-weighted term coverage) and with the embedder (the cosine of the sentence, or of its
passage). When the best evidence scores under ``refusal_threshold``, kilde refuses and still
returns the nearest passages.
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

_QUANTITY = re.compile(
    r"\b(hvor (mange|mye|stor|store|høy|høye|lang|lenge)|andel|prosent|antall|når|hvilket år"
    r"|hvilken dato|dato|kostet|koste|kostnad\w*|beløp|tall)\b",
    re.IGNORECASE,
)
_HAS_FIGURE = re.compile(r"\d")


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

    def answer(
        self, question: str, history: Sequence[str] = (), filters: Filters | None = None
    ) -> Answer:
        started = time.perf_counter()
        query = followup.resolve(question, history)
        retrieved = self.retriever.retrieve(query, max(self.settings.top_k, 10), filters)
        query_vector = self.embedder.embed_query(query)
        candidates = self._candidates(query, question, query_vector, retrieved)
        chosen = self._choose(candidates)
        best = chosen[0].score if chosen else float("-inf")
        if not chosen or best < self.settings.refusal_threshold:
            return Answer(
                question=question,
                answer=REFUSAL_TEXT,
                refused=True,
                retrieved=tuple(retrieved),
                latency_ms=(time.perf_counter() - started) * 1000,
                search_query=query,
                meta={"best_score": best},
            )
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        for cand in chosen:
            chunk = cand.retrieved.chunk
            page_text = self.store.page_text(chunk.file, chunk.page) or ""
            citation = make_citation(
                self.store.docs.get(chunk.file), chunk, page_text, cand.start, cand.end
            )
            if not verify(citation, page_text):  # never show a quote that is not on its page
                continue
            citations.append(citation)
            sentences.append(AnswerSentence(text=citation.quote, citation=len(citations) - 1))
        if not sentences:
            return Answer(
                question=question,
                answer=REFUSAL_TEXT,
                refused=True,
                retrieved=tuple(retrieved),
                latency_ms=(time.perf_counter() - started) * 1000,
                search_query=query,
            )
        return Answer(
            question=question,
            answer=" ".join(s.text for s in sentences),
            refused=False,
            sentences=tuple(sentences),
            citations=tuple(citations),
            retrieved=tuple(retrieved),
            latency_ms=(time.perf_counter() - started) * 1000,
            search_query=query,
            meta={"best_score": best},
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
        wants_figure = bool(_QUANTITY.search(question))
        rows = {c.chunk_id: i for i, c in enumerate(self.store.chunks)}
        seen: set[tuple[str, int | None, int]] = set()
        out: list[_Candidate] = []
        for rank, hit in enumerate(retrieved[: self.settings.answer_passages], start=1):
            chunk = hit.chunk
            row = rows.get(chunk.chunk_id)
            cosine = float(self.store.vectors[row] @ query_vector) if row is not None else 0.0
            for a, b in sentence_spans(chunk.text):
                key = (chunk.file, chunk.page, chunk.start + a)
                if key in seen:
                    continue
                seen.add(key)
                text = chunk.text[a:b]
                found = set(analyze(text)) & terms
                lexical = sum(self._weight(t) * (2 if t in own_terms else 1) for t in found)
                lexical /= total
                score = lexical + 0.5 * cosine + 0.1 / rank
                if wants_figure and _HAS_FIGURE.search(text):
                    score += 0.15
                if len(text) > self.settings.max_answer_chars:
                    continue
                out.append(
                    _Candidate(
                        hit, rank, chunk.start + a, chunk.start + b, text, lexical, cosine, score
                    )
                )
        out.sort(key=lambda c: -c.score)
        return out

    def _choose(self, candidates: list[_Candidate]) -> list[_Candidate]:
        chosen: list[_Candidate] = []
        used = 0
        for cand in candidates:
            if len(chosen) == self.settings.max_sentences:
                break
            if chosen and cand.score < 0.85 * chosen[0].score:
                break
            length = len(squash(cand.text)) + (1 if chosen else 0)
            if used + length > self.settings.max_answer_chars:
                continue
            if any(squash(cand.text) in squash(c.text) for c in chosen):
                continue
            chosen.append(cand)
            used += length
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
