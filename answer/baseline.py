"""The naive baseline kilde must beat, as pipeline stages: fixed 800-character chunks, plain
BM25 (bm25s's default tokenizer: no Norwegian stemming or stopwords), and the best BM25
sentence of the top chunk as the answer. It reads the corpus itself and needs no index."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import bm25s

from kilde.errors import SkipFile
from kilde.ingest.readers import iter_sources, read_source
from kilde.text import locate
from kilde.types import Chunk, Draft, Filters, Page, Retrieved, Span

CHUNK_CHARS = 800
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class NaiveCorpus:
    """The corpus in 800-character chunks with a plain BM25 index; a retriever stage."""

    def __init__(self, corpus_dir: Path):
        self.pages: dict[tuple[str, int | None], Page] = {}
        self.chunks: list[Chunk] = []
        for path in iter_sources(corpus_dir):
            rel = path.relative_to(corpus_dir).as_posix()
            try:
                source = read_source(path, rel)
            except SkipFile:
                continue
            for page in source.pages:
                self.pages[(page.file, page.page)] = page
                for at in range(0, len(page.text), CHUNK_CHARS):
                    text = page.text[at : at + CHUNK_CHARS]
                    self.chunks.append(
                        Chunk(
                            chunk_id=f"{page.file}:{page.page or 0}:{at}",
                            file=page.file,
                            title=page.file,
                            page=page.page,
                            page_label=page.page_label,
                            start=at,
                            end=at + len(text),
                            text=text,
                        )
                    )
        self.model = bm25s.BM25()
        self.model.index(
            bm25s.tokenize([c.text for c in self.chunks], show_progress=False),
            show_progress=False,
        )

    def page_text(self, file: str, page: int | None) -> str | None:
        found = self.pages.get((file, page))
        return found.text if found else None

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Retrieved]:
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        rows, scores = self.model.retrieve(
            bm25s.tokenize([query], show_progress=False), k=k, show_progress=False
        )
        return [
            Retrieved(self.chunks[int(row)], float(score))
            for row, score in zip(rows[0], scores[0], strict=True)
        ]


class BestSentenceAnswerer:
    """Answerer stage: the best BM25 sentence of the top chunk, if it scored at all."""

    name = "baseline"

    def draft(self, question: str, query: str, passages: Sequence[Retrieved]) -> Draft:
        if not passages or passages[0].score <= 0:
            return Draft(answerer=self.name)
        chunk = passages[0].chunk
        sentence = _best_sentence(question, chunk.text)
        span = locate(chunk.text, sentence) if sentence else None
        if span is None:
            return Draft(answerer=self.name)
        start, end = chunk.start + span[0], chunk.start + span[1]
        text = chunk.text[span[0] : span[1]]
        return Draft(spans=(Span(chunk, start, end, text),), answerer=self.name)


def _best_sentence(question: str, text: str) -> str:
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 3]
    if not sentences:
        return ""
    model = bm25s.BM25()
    model.index(bm25s.tokenize(sentences, show_progress=False), show_progress=False)
    rows, _ = model.retrieve(
        bm25s.tokenize([question], show_progress=False), k=1, show_progress=False
    )
    return sentences[int(rows[0][0])]
