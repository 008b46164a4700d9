"""The answering pipeline: small stages with one job each, run in a fixed order.

    follow-up resolution -> retrieval -> optional reranker -> evidence gate -> answerer
    -> cite and verify

Each stage is a plain object with one method, so any of them can be swapped (a trained
reader for the rules answerer, a PostgreSQL-backed retriever for the folder one) without the
others knowing. ``kilde.answer.factory`` picks the stages from ``Settings``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kilde.types import REFUSAL_TEXT, Answer, Draft, Filters, Retrieved

from .cite import Citer
from .gate import Evidence


class FollowupStage(Protocol):
    def resolve(self, question: str, history: Sequence[str]) -> str: ...


class RetrieverStage(Protocol):
    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]: ...


class RerankerStage(Protocol):
    def rerank(self, query: str, retrieved: Sequence[Retrieved]) -> list[Retrieved]: ...


class GateStage(Protocol):
    """Refuses before answering (too little evidence) or after (the draft misses what the
    question pins down)."""

    def check(self, query: str, retrieved: Sequence[Retrieved]) -> Evidence: ...

    def admits(self, query: str, draft: Draft, question: str | None = None) -> bool: ...


class AnswererStage(Protocol):
    """Reads the chosen passages and drafts an answer; never retrieves."""

    name: str

    def draft(self, question: str, query: str, passages: Sequence[Retrieved]) -> Draft: ...


@dataclass
class Pipeline:
    followup: FollowupStage
    retriever: RetrieverStage
    gate: GateStage
    answerer: AnswererStage
    citer: Citer
    reranker: RerankerStage | None = None
    top_k: int = 10
    rerank_depth: int = 20  # passages the reranker reorders; the best top_k (at least 10) stay

    def retrieve(
        self, question: str, history: Sequence[str] = (), filters: Filters | None = None
    ) -> tuple[str, list[Retrieved]]:
        """The query ``question`` is searched with, and the passages found: the stages
        before the gate."""
        query = self.followup.resolve(question, history)
        return query, self.search(query, max(self.top_k, 10), filters)

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        """The ``k`` best passages for ``query``, in the reranker's order when there is one
        (what ``kilde search`` lists and an answer shows as its sources)."""
        if self.reranker is None:
            return self.retriever.retrieve(query, k, filters)
        found = self.retriever.retrieve(query, max(k, self.rerank_depth), filters)
        return self.reranker.rerank(query, found)[:k]

    def ask(
        self, question: str, history: Sequence[str] = (), filters: Filters | None = None
    ) -> Answer:
        started = time.perf_counter()
        query, retrieved = self.retrieve(question, history, filters)
        evidence = self.gate.check(query, retrieved)
        if evidence.refuse:
            draft = Draft(answerer=self.answerer.name, refusal="coverage")
        else:
            draft = self.answerer.draft(question, query, retrieved)
            if draft.spans and not self.gate.admits(query, draft, question):
                draft = Draft(
                    answerer=draft.answerer, notice=draft.notice, refusal="missing_detail"
                )
        sentences, citations = self.citer.cite(draft)
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
            answerer=draft.answerer,
            # the answerer's own drops, plus spans the citer refused
            dropped_claims=draft.dropped_claims + len(draft.spans) - len(sentences),
            notice=draft.notice,
            refusal_reason=_refusal_reason(draft) if refused else "",
        )


def _refusal_reason(draft: Draft) -> str:
    """Why a draft that yields no answer sentence was refused (kilde.types.REFUSAL_REASONS)."""
    if draft.refusal:
        return draft.refusal
    return "unverified" if draft.spans or draft.dropped_claims else "no_answer"
