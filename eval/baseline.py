"""The naive baseline kilde must beat: fixed 800-character chunks, plain BM25 (bm25s's default
tokenizer: no Norwegian stemming or stopwords), and the best BM25 sentence of the top chunk as
the answer. Its predictions have the same fields as ``kilde ask --json``."""

from __future__ import annotations

import re
import time
from pathlib import Path

import bm25s

from kilde.errors import SkipFile
from kilde.ingest.readers import iter_sources, read_source
from kilde.types import Page

from .gold import GoldItem

CHUNK_CHARS = 800
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class NaiveBaseline:
    def __init__(self, corpus_dir: Path):
        self.pages: dict[tuple[str, int | None], Page] = {}
        self.chunks: list[tuple[Page, str]] = []
        for path in iter_sources(corpus_dir):
            rel = path.relative_to(corpus_dir).as_posix()
            try:
                source = read_source(path, rel)
            except SkipFile:
                continue
            for page in source.pages:
                self.pages[(page.file, page.page)] = page
                for at in range(0, len(page.text), CHUNK_CHARS):
                    self.chunks.append((page, page.text[at : at + CHUNK_CHARS]))
        self.model = bm25s.BM25()
        self.model.index(
            bm25s.tokenize([c for _, c in self.chunks], show_progress=False), show_progress=False
        )

    def page_text(self, file: str, page: int | None) -> str | None:
        found = self.pages.get((file, page))
        return found.text if found else None

    def predict(self, item: GoldItem) -> dict:
        started = time.perf_counter()
        k = min(10, len(self.chunks))
        rows, scores = self.model.retrieve(
            bm25s.tokenize([item.question], show_progress=False), k=k, show_progress=False
        )
        retrieved = []
        for row, score in zip(rows[0], scores[0], strict=True):
            page, text = self.chunks[int(row)]
            retrieved.append(
                {
                    "file": page.file,
                    "page": page.page,
                    "page_label": page.page_label,
                    "text": text,
                    "score": float(score),
                }
            )
        answer, citations = "", []
        if retrieved and retrieved[0]["score"] > 0:
            page, text = self.chunks[int(rows[0][0])]
            sentence = self._best_sentence(item.question, text)
            if sentence:
                answer = sentence
                citations = [
                    {
                        "file": page.file,
                        "title": page.file,
                        "page": page.page,
                        "page_label": page.page_label,
                        "quote": sentence,
                        "reference": page.file,
                    }
                ]
        return {
            "id": item.id,
            "question": item.question,
            "answer": answer,
            "refused": not answer,
            "citations": citations,
            "retrieved": retrieved,
            "latency_ms": (time.perf_counter() - started) * 1000,
        }

    @staticmethod
    def _best_sentence(question: str, text: str) -> str:
        sentences = [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 3]
        if not sentences:
            return ""
        model = bm25s.BM25()
        model.index(bm25s.tokenize(sentences, show_progress=False), show_progress=False)
        rows, _ = model.retrieve(
            bm25s.tokenize([question], show_progress=False), k=1, show_progress=False
        )
        return " ".join(sentences[int(rows[0][0])].split())
