"""The sentence-match reranker: its measure on real text, its order on hand-made hits, and on
the real corpus a passage that fusion ranks third moved to the top."""

from __future__ import annotations

from kilde.answer.pipeline import Pipeline
from kilde.answer.rerank import SentenceMatchReranker, best_sentence_match
from kilde.eval.evidence import chunk_holds
from kilde.text import analyze
from kilde.types import Chunk, Retrieved

QUESTION = "Hvor mange kommuner har tatt i bruk Helseplattformen?"


def _hit(name: str, text: str, score: float) -> Retrieved:
    return Retrieved(Chunk(name, f"{name}.txt", name, None, None, 0, len(text), text), score)


def test_best_sentence_match_counts_the_words_one_sentence_holds():
    weights = {term: 1.0 for term in analyze(QUESTION)}
    together = "Innledning. Per 2024 har 38 kommuner tatt i bruk Helseplattformen."
    scattered = "Kommuner vurderer mye. Helseplattformen er et journalsystem. Bruk av det øker."
    assert best_sentence_match(weights, together) == 1.0
    assert 0 < best_sentence_match(weights, scattered) < 0.5
    assert best_sentence_match({}, together) == 0.0


def test_the_passage_whose_sentence_holds_the_question_goes_first():
    hits = [
        _hit("a", "Kommuner vurderer mye. Helseplattformen er et journalsystem.", 1.0),
        _hit("b", "Om driften. Vi har fått nye maskiner.", 0.8),
        _hit("c", "Per 2024 har 38 kommuner tatt i bruk Helseplattformen.", 0.7),
    ]
    reranked = SentenceMatchReranker({}, weight=2.0).rerank(QUESTION, hits)
    assert [h.chunk.chunk_id for h in reranked] == ["c", "a", "b"]
    assert [h.score for h in reranked] == [0.7, 1.0, 0.8]  # retrieval scores are kept
    unchanged = SentenceMatchReranker({}, weight=0.0).rerank(QUESTION, hits)
    assert unchanged == hits


class _Depth:
    """A retriever wrapper that records how many passages the pipeline asked for."""

    def __init__(self, inner):
        self.inner, self.asked = inner, []

    def retrieve(self, query, k, filters=None):
        self.asked.append(k)
        return self.inner.retrieve(query, k, filters)


def test_on_the_real_corpus_the_reranker_lifts_the_answer_passage(corpus_engine):
    # A training question (train/data), not a gold one: fusion ranks its passage third.
    question = "Når ble spørsmålene om konfidensialitet, integritet og tilgjengelighet endret?"
    quote = "konfidensialitet, integritet og tilgjengelighet, ble endret i 2023-undersøkelsen"
    on = corpus_engine.with_settings(corpus_engine.settings.with_values(reranker="sentence"))
    off = corpus_engine.with_settings(corpus_engine.settings.with_values(reranker="none"))
    assert isinstance(on.pipeline.reranker, SentenceMatchReranker)
    assert off.pipeline.reranker is None

    def rank(pipeline: Pipeline) -> int:
        _, hits = pipeline.retrieve(question)
        assert len(hits) == 10
        return next(i for i, h in enumerate(hits, 1) if chunk_holds(h.chunk.text, quote))

    assert rank(off.pipeline) >= 3
    assert rank(on.pipeline) == 1
    # kilde search and the API's /search list the sources in the same order as an answer
    top = on.pipeline.search(question, 2)
    assert len(top) == 2 and chunk_holds(top[0].chunk.text, quote)
    recorder = _Depth(on.pipeline.retriever)
    on.pipeline.retriever = recorder
    on.pipeline.retrieve(question)
    assert recorder.asked == [20]  # rerank_depth passages read, the best 10 kept
