"""The reader answerer: kilde's own trained cross-encoder (``kilde.reader``, models/reader)
reads the question with each of the rules answerer's best sentences and picks the answer;
when its "no answer" option outscores every sentence, it refuses.

The default answerer (``answer.answerer = "reader"``). The rules answerer's sentence scores
choose the ``reader_candidates`` sentences the reader reads (most of the reader's cost is one
encoder pass per sentence) and, weighted by ``reader_rules_weight``, join the reader's score
in the ranking. How many sentences the answer keeps is the rules answerer's count
(``reader_count = "rules"``, the default: on every tuning set the only setting tried that was
at least as good as the rules answerer on accuracy and precision both) or those within
``reader_margin`` of the best. The question it reads is the one resolved against earlier
turns, so a follow-up is read with the previous question's words (docs/reader.md). With
``reader_refusal`` on, a refusal head over the kept sentences' embeddings may refuse the
answer (kilde.reader.refusal).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kilde.config import AnswerSettings
from kilde.text import sentence_spans, squash
from kilde.types import Draft, Retrieved, Span

from .rules import Candidate, RulesAnswerer, choose, same_statement

REPO_ROOT = Path(__file__).resolve().parents[1]


def model_folder(setting: str) -> Path:
    """The reader's folder: as given, or (for a relative path not found from here) under the
    repository, where models/reader is shipped."""
    folder = Path(setting)
    if folder.is_absolute() or folder.exists():
        return folder
    return REPO_ROOT / folder


def reader_texts(candidates: Sequence[Candidate], context: str = "none") -> list[str]:
    """Each candidate as the reader reads it: the document's short title and the sentence,
    with, for a model trained with ``--context previous`` or ``marked``, the sentence before
    it in its passage (none for a passage's first sentence)."""
    from kilde.reader.data import candidate_text, short_title

    texts = []
    spans: dict[str, list[tuple[int, int]]] = {}  # per chunk: candidates share passages
    for c in candidates:
        chunk = c.retrieved.chunk
        previous = ""
        if context != "none":
            local = c.start - chunk.start
            if chunk.chunk_id not in spans:
                spans[chunk.chunk_id] = sentence_spans(chunk.text)
            before = [(a, b) for a, b in spans[chunk.chunk_id] if b <= local]
            previous = chunk.text[before[-1][0] : before[-1][1]] if before else ""
        title = short_title(chunk.title)
        texts.append(candidate_text(c.text, previous, title, marked=context == "marked"))
    return texts


def scaled(values: np.ndarray) -> np.ndarray:
    """``values`` mapped onto 0..1 (best 1, worst 0); all 1 when they are all equal."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.ones_like(values)
    return (values - low) / (high - low)


def kept(
    reader_scores: np.ndarray,
    rules_scores: np.ndarray,
    lengths: Sequence[int],
    rules_count: int,
    settings: AnswerSettings,
    no_answer: float = float("nan"),
    texts: Sequence[str] = (),
) -> list[int]:
    """Which candidates the answer keeps, best first: ranked by reader score plus the
    weighted rules score, as many as the rules answerer kept (``reader_count = "rules"``,
    leaving out those more than ``reader_rules_cut`` below the best) or those within
    ``reader_margin`` of the best, inside ``max_answer_chars``, none the same statement as one
    kept before (two documents quoting it; needs ``texts``). Shared with the
    replay of kilde.eval.simulate. None at all when ``reader_no_answer`` is on and the
    reader's ``no_answer`` score is at least its best."""
    if settings.reader_no_answer and float(reader_scores.max()) <= no_answer:
        return []  # the reader finds no answer here
    scores = reader_scores + settings.reader_rules_weight * scaled(rules_scores)
    order = np.argsort(-scores, kind="stable")
    best = float(scores[order[0]])
    limit, margin = settings.max_sentences, settings.reader_margin
    if settings.reader_count == "rules":
        limit, margin = min(limit, rules_count or 1), settings.reader_rules_cut
    chosen: list[int] = []
    used = 0
    for i in order:
        if len(chosen) == limit or (chosen and float(scores[i]) < best - margin):
            break
        length = lengths[i] + (1 if chosen else 0)
        if used + length > settings.max_answer_chars:
            continue
        if texts and any(same_statement(texts[i], texts[j]) for j in chosen):
            continue
        chosen.append(int(i))
        used += length
    return chosen


class ReaderAnswerer:
    """Answerer stage: the sentences the trained reader scores highest."""

    name = "reader"

    def __init__(self, reader, settings: AnswerSettings, rules: RulesAnswerer, refusal=None):
        self.reader = reader  # kilde.reader.infer.Reader
        self.settings = settings
        self.rules = rules
        self.refusal = refusal  # kilde.reader.refusal.RefusalHead, with reader_refusal on

    @classmethod
    def load(cls, settings: AnswerSettings, rules: RulesAnswerer) -> ReaderAnswerer:
        from kilde.reader.infer import Reader

        folder = model_folder(settings.reader_model)
        reader = Reader.load(folder)  # checks encoder.bin, which the refusal head names
        refusal = None
        if settings.reader_refusal:
            from kilde.reader.refusal import RefusalHead

            refusal = RefusalHead.load(folder, reader.hidden)
        return cls(reader, settings, rules, refusal)

    def draft(self, question: str, query: str, passages: Sequence[Retrieved]) -> Draft:
        full = self.rules.candidates(question, query, passages)
        ranked = full[: self.settings.reader_candidates]
        if not ranked:
            return Draft(answerer=self.name)
        spans: list[Span] = [c.span() for c in ranked]
        texts = reader_texts(ranked, self.reader.context)
        reading = self.reader.read(query, texts, no_answer=self.settings.reader_no_answer)
        reader_scores = reading.scores
        rules_scores = np.asarray([c.score for c in ranked], dtype=np.float32)
        # The rules answerer's sentence count (its keep ratio already says how many of the
        # candidates stand near the best); the reader says which ones.
        rules_count = (
            len(choose(full, self.settings)) if self.settings.reader_count == "rules" else 0
        )
        lengths = [len(squash(span.text)) for span in spans]
        keep = kept(
            reader_scores,
            rules_scores,
            lengths,
            rules_count,
            self.settings,
            reading.no_answer,
            [span.text for span in spans],
        )
        if self.refusal is not None and self.refusal.refuses(reading.embeddings[keep]):
            return Draft(answerer=self.name, refusal="refusal_head")
        chosen = [spans[i] for i in keep]
        return Draft(spans=tuple(chosen), answerer=self.name)
