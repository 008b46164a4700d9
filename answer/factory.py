"""Builds a ``Pipeline`` from ``Settings``: the one place that decides which stage is which.

Eval variants are pipelines too: ``bm25``, ``dense`` and ``hybrid`` differ in the retriever,
and ``baseline`` is the naive pipeline that reads the corpus itself (``baseline.py``).
"""

from __future__ import annotations

from pathlib import Path

from kilde.config import Settings
from kilde.errors import ConfigError
from kilde.index.embedders import Embedder
from kilde.index.interface import Store
from kilde.index.retrieval import make_retriever

from .baseline import BestSentenceAnswerer, NaiveCorpus
from .cite import Citer
from .followup import FollowupResolver
from .gate import EvidenceGate, OpenGate
from .llm import LlmAnswerer
from .llm_client import ChatClient, api_key_from_env
from .pipeline import Pipeline
from .reader import ReaderAnswerer
from .rerank import SentenceMatchReranker
from .rules import RulesAnswerer

VARIANTS = ("bm25", "dense", "hybrid", "baseline")


def build_pipeline(settings: Settings, store: Store, embedder: Embedder) -> Pipeline:
    """kilde's pipeline over ``store``, with the stages ``settings`` name."""
    idf = store.term_stats().idf_table()
    gate = EvidenceGate(idf, settings.gate, settings.answer.answer_passages)
    answerer = RulesAnswerer(store, embedder, idf, settings.answer)
    if settings.answer.answerer == "llm":
        # The LLM answerer runs the gate itself: under refusal = both, a gate refusal stands
        # only when the model agrees.
        answerer, gate = build_llm_answerer(settings, answerer, gate), OpenGate()
    elif settings.answer.answerer == "reader":
        answerer = ReaderAnswerer.load(settings.answer, answerer)
    elif settings.answer.answerer != "rules":
        raise ConfigError(
            f"ukjent answerer {settings.answer.answerer}; velg rules, reader eller llm"
        )
    return Pipeline(
        followup=FollowupResolver(),
        retriever=make_retriever(store, embedder, settings.retrieval),
        reranker=(
            SentenceMatchReranker(idf, settings.rerank.rerank_weight)
            if settings.rerank.reranker == "sentence"
            else None
        ),
        rerank_depth=settings.rerank.rerank_depth,
        gate=gate,
        answerer=answerer,
        citer=Citer(store.page_text, store.documents(), store.line_map),
        top_k=settings.retrieval.top_k,
    )


def build_llm_answerer(
    settings: Settings, fallback: RulesAnswerer, gate: EvidenceGate
) -> LlmAnswerer:
    """The LLM answerer of ``settings.llm``, falling back on ``fallback``."""
    llm = settings.llm
    if not llm.url:
        raise ConfigError("answerer llm trenger en server: gi --llm-url http://VERT:PORT/v1")
    if not llm.model:
        raise ConfigError("answerer llm trenger et modellnavn: gi --llm-model NAVN")
    client = ChatClient(llm.url, llm.model, llm.timeout, api_key_from_env(llm.api_key_env))
    return LlmAnswerer(
        client,
        fallback=fallback,
        gate=gate,
        refusal=llm.refusal,
        passages=settings.answer.answer_passages,
        max_sentences=settings.answer.max_sentences,
        max_tokens=llm.max_tokens,
    )


def build_baseline(corpus_dir: Path, settings: Settings) -> tuple[Pipeline, NaiveCorpus]:
    """The naive pipeline (and its corpus, whose page texts eval scores citations against)."""
    corpus = NaiveCorpus(Path(corpus_dir))
    pipeline = Pipeline(
        followup=FollowupResolver(),
        retriever=corpus,
        gate=OpenGate(),
        answerer=BestSentenceAnswerer(),
        citer=Citer(corpus.page_text, {}),
        top_k=settings.retrieval.top_k,
    )
    return pipeline, corpus
