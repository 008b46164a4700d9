"""The reader answerer: kilde's own trained cross-encoder (``kilde.reader``, models/reader)
reads the question with each sentence of the top passages and picks the answer; when its
"no answer" option outscores every sentence, it refuses.

Chosen with ``answer.answerer = "reader"``. It is not the default: the shipped 4-bit model
does not yet beat the rules answerer (docs/reader.md). The question it reads is the one
resolved against earlier turns, so a follow-up is read with the previous question's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kilde.config import AnswerSettings
from kilde.text import sentence_spans, squash
from kilde.types import Draft, Retrieved, Span

REPO_ROOT = Path(__file__).resolve().parents[1]


def model_folder(setting: str) -> Path:
    """The reader's folder: as given, or (for a relative path not found from here) under the
    repository, where models/reader is shipped."""
    folder = Path(setting)
    if folder.is_absolute() or folder.exists():
        return folder
    return REPO_ROOT / folder


class ReaderAnswerer:
    """Answerer stage: the sentences the trained reader scores highest."""

    name = "reader"

    def __init__(self, reader, settings: AnswerSettings):
        self.reader = reader  # kilde.reader.infer.Reader
        self.settings = settings

    @classmethod
    def load(cls, settings: AnswerSettings) -> ReaderAnswerer:
        from kilde.reader.infer import Reader

        return cls(Reader.load(model_folder(settings.reader_model)), settings)

    def draft(self, question: str, query: str, passages: Sequence[Retrieved]) -> Draft:
        from kilde.reader.data import candidate_text, short_title

        spans: list[Span] = []
        texts: list[str] = []
        seen: set[tuple[str, int | None, int]] = set()
        for hit in passages[: self.settings.answer_passages]:
            chunk = hit.chunk
            for a, b in sentence_spans(chunk.text):
                key = (chunk.file, chunk.page, chunk.start + a)
                text = chunk.text[a:b]
                if key in seen or len(text) > self.settings.max_answer_chars:
                    continue
                seen.add(key)
                spans.append(Span(chunk, chunk.start + a, chunk.start + b, text))
                texts.append(candidate_text(text, "", short_title(chunk.title)))
        if not spans:
            return Draft(answerer=self.name)
        scores, no_answer = self.reader.score(query, texts)
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        if best <= no_answer:
            return Draft(answerer=self.name)  # the reader finds no answer here
        chosen: list[Span] = []
        used = 0
        for i in order:
            if len(chosen) == self.settings.max_sentences:
                break
            if chosen and float(scores[i]) < best - self.settings.reader_margin:
                break
            length = len(squash(spans[i].text)) + (1 if chosen else 0)
            if used + length > self.settings.max_answer_chars:
                continue
            chosen.append(spans[i])
            used += length
        return Draft(spans=tuple(chosen), answerer=self.name)
