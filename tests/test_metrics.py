"""Scores of predictions against gold items, with expected values computed by hand."""

import math

import pytest

from kilde.errors import KildeError
from kilde.eval.aggregate import aggregate, percentile
from kilde.eval.gold import Evidence, GoldItem
from kilde.eval.metrics import evaluate, score_item, token_f1
from kilde.eval.sources import QuoteLocation

Q1 = "Regjeringen vil styrke samhandlingen mellom kommunene og sykehusene i hele landet."
Q2 = "Tilskuddet til hver kommune utgjør 39 200 kroner i 2024."
FILLER = "Dette avsnittet handler om noe helt annet enn spørsmålet."


def gold_item(
    evidence=(("a.pdf", Q1),),
    answer="Tilskuddet utgjør 39 200 kroner per år",
    aliases=("39 200 kroner",),
    answerable=True,
    type="factoid",
    id="q1",
) -> GoldItem:
    return GoldItem(
        id=id,
        question="Hvor stort er tilskuddet?",
        answer=answer,
        answer_aliases=tuple(aliases),
        evidence=tuple(Evidence(file=f, quote=q) for f, q in evidence),
        answerable=answerable,
        type=type,
    )


def chunk(file: str, text: str) -> dict:
    return {"file": file, "page": 1, "page_label": "1", "text": text, "score": 0.5}


def citation(file: str, quote: str, page: int | None = 1) -> dict:
    return {
        "file": file,
        "title": file,
        "page": page,
        "page_label": None if page is None else str(page),
        "quote": quote,
        "reference": f"Utgiver (2024): {file}, s. {page}.",
    }


def prediction(
    answer="Tilskuddet er 39 200 kroner.",
    refused=False,
    citations=(),
    retrieved=(),
    latency_ms=100.0,
    id="q1",
) -> dict:
    return {
        "id": id,
        "question": "Hvor stort er tilskuddet?",
        "answer": answer,
        "refused": refused,
        "citations": list(citations),
        "retrieved": list(retrieved),
        "latency_ms": latency_ms,
    }


# --- retrieval -----------------------------------------------------------------------------


def test_relevant_at_rank_2():
    # The first chunk holds the quote but from another file, so it is not relevant.
    retrieved = [chunk("b.pdf", Q1), chunk("a.pdf", "Innledning. " + Q1), chunk("a.pdf", FILLER)]
    scores = score_item(gold_item(), prediction(retrieved=retrieved))
    assert scores["rank"] == 2
    assert (scores["hit@1"], scores["hit@5"], scores["hit@10"]) == (0.0, 1.0, 1.0)
    assert scores["rr@10"] == 0.5
    assert scores["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert scores["evidence_recall@5"] == 1.0


def test_nothing_relevant_retrieved():
    scores = score_item(gold_item(), prediction(retrieved=[chunk("a.pdf", FILLER)] * 3))
    assert scores["rank"] is None
    assert (scores["hit@1"], scores["hit@5"], scores["hit@10"]) == (0.0, 0.0, 0.0)
    assert scores["rr@10"] == 0.0
    assert scores["ndcg@10"] == 0.0
    assert scores["evidence_recall@5"] == 0.0


def test_relevant_below_rank_10_has_a_rank_but_no_hit():
    retrieved = [chunk("a.pdf", FILLER)] * 11 + [chunk("a.pdf", Q1)]
    scores = score_item(gold_item(), prediction(retrieved=retrieved))
    assert scores["rank"] == 12
    assert scores["hit@10"] == 0.0
    assert scores["rr@10"] == 0.0
    assert scores["ndcg@10"] == 0.0


def test_two_evidence_quotes_ndcg_and_evidence_recall():
    item = gold_item(evidence=(("a.pdf", Q1), ("b.pdf", Q2)))
    retrieved = [chunk("a.pdf", Q1), chunk("a.pdf", FILLER), chunk("b.pdf", Q2)]
    scores = score_item(item, prediction(retrieved=retrieved))
    # DCG = 1 + 1/log2(4) = 1.5; ideal DCG = 1 + 1/log2(3).
    assert scores["ndcg@10"] == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert scores["evidence_recall@5"] == 1.0

    # The second quote only at rank 6: half the evidence in the top 5.
    retrieved = [chunk("a.pdf", Q1)] + [chunk("a.pdf", FILLER)] * 4 + [chunk("b.pdf", Q2)]
    scores = score_item(item, prediction(retrieved=retrieved))
    assert scores["evidence_recall@5"] == 0.5
    assert scores["ndcg@10"] == pytest.approx((1 + 1 / math.log2(7)) / (1 + 1 / math.log2(3)))


def test_overlapping_chunks_with_the_same_quote_count_once_in_ndcg():
    retrieved = [chunk("a.pdf", Q1), chunk("a.pdf", "Mer tekst. " + Q1)]
    scores = score_item(gold_item(), prediction(retrieved=retrieved))
    assert scores["ndcg@10"] == 1.0


def test_quote_cut_by_a_chunk_boundary_counts_by_its_4_grams():
    # Q1 has 11 words, 8 4-grams. The first chunk ends after 7 words (4 of 8 4-grams: not
    # more than half); the second starts at word 4 (5 of 8 4-grams: more than half).
    first = "Innledning. Regjeringen vil styrke samhandlingen mellom kommunene og"
    second = "samhandlingen mellom kommunene og sykehusene i hele landet. Deretter ..."
    scores = score_item(
        gold_item(), prediction(retrieved=[chunk("a.pdf", first), chunk("a.pdf", second)])
    )
    assert scores["rank"] == 2


# --- answers -------------------------------------------------------------------------------


def test_answer_with_no_break_space_in_a_number_is_correct():
    item = gold_item()
    assert score_item(item, prediction(answer="Det er 39\u00a0200 kroner."))["correct"] is True
    assert score_item(item, prediction(answer="Det er 39200 kroner."))["correct"] is True
    assert score_item(item, prediction(answer="Det er 39 300 kroner."))["correct"] is False


def test_a_number_alias_does_not_match_inside_a_larger_number():
    item = gold_item(aliases=("200",))
    assert score_item(item, prediction(answer="Det er 200 kroner."))["correct"] is True
    assert score_item(item, prediction(answer="Det er 1200 kroner."))["correct"] is False
    assert score_item(item, prediction(answer="Det er 39 200 kroner."))["correct"] is False


def test_answer_longer_than_600_characters_is_not_correct():
    answer = "Tilskuddet er 39 200 kroner."
    item = gold_item()
    at_limit = answer + " " * (600 - len(answer) - 1) + "."
    assert len(at_limit) == 600
    assert score_item(item, prediction(answer=at_limit))["correct"] is True
    assert score_item(item, prediction(answer=at_limit + "."))["correct"] is False


def test_refused_answer_is_not_correct_and_has_f1_zero():
    scores = score_item(gold_item(), prediction(answer="39 200 kroner", refused=True))
    assert scores["correct"] is False
    assert scores["token_f1"] == 0.0
    assert scores["refused"] is True


def test_token_f1():
    # 5 predicted and 7 gold words with 4 in common: F1 = 2*4 / (5+7).
    assert token_f1(
        "Tilskuddet er 39 200 kroner.", "Tilskuddet utgjør 39 200 kroner per år"
    ) == pytest.approx(8 / 12)
    assert token_f1("Helt annet", "Tilskuddet er stort") == 0.0
    assert token_f1("", "") == 1.0
    scores = score_item(gold_item(), prediction(answer="Tilskuddet er 39 200 kroner."))
    assert scores["token_f1"] == pytest.approx(8 / 12)


# --- citations -----------------------------------------------------------------------------

TWO_FILES = (("a.pdf", Q1), ("b.pdf", Q2))


def test_citation_precision_and_recall():
    citations = [
        # Overlaps the a.pdf quote: correct, and covers it.
        citation("a.pdf", "vil styrke samhandlingen mellom kommunene"),
        # Other words from b.pdf, but holding the alias: correct, yet covers nothing.
        citation("b.pdf", "Satsen er satt til 39 200 kroner."),
        # The a.pdf quote, but attributed to a file with no evidence: wrong.
        citation("c.pdf", Q1),
    ]
    scores = score_item(gold_item(evidence=TWO_FILES), prediction(citations=citations))
    assert scores["citation_precision"] == pytest.approx(2 / 3)
    assert scores["citation_recall"] == 0.5


def test_no_citations():
    scores = score_item(gold_item(evidence=TWO_FILES), prediction(citations=[]))
    assert scores["citation_precision"] is None
    assert scores["citation_recall"] == 0.0
    assert scores["verbatim"] is None
    assert scores["page_correct"] is None


PAGES = {
    ("a.pdf", 3): "Kapittel 2\n" + Q1 + " Mer tekst.",
    ("a.pdf", 4): "Neste side uten sitatet.",
    ("b.pdf", 7): "Satsen er satt til 39\u00a0200 kroner.",
    ("b.pdf", 8): "Her står det: " + Q2,
}


def page_text(file: str, page: int | None) -> str | None:
    return PAGES.get((file, page))


def test_verbatim_and_page_accuracy():
    citations = [
        citation("a.pdf", "vil styrke sam-\nhandlingen mellom kommunene", page=3),
        # Correct by the alias, in another sentence than the gold quote (page 8): its page
        # is judged by `verbatim` (its quote stands there), not by the gold quote's page.
        citation("b.pdf", "Satsen er satt til 39 200 kroner.", page=7),
        # The gold quote, on a page where it does not stand.
        citation("a.pdf", "vil styrke samhandlingen", page=4),
        # Wrong file: not correct, and no such page.
        citation("c.pdf", Q1, page=1),
    ]
    scores = score_item(gold_item(evidence=TWO_FILES), prediction(citations=citations), page_text)
    assert scores["verbatim"] == 0.5  # the first two of four
    # Judged: the two correct citations that quote a gold quote; the first is on its page.
    assert scores["page_correct"] == 0.5
    assert scores["citation_precision"] == 0.75
    # The gold quote of b.pdf cited on the alias sentence's page is on the wrong page.
    wrong = [citation("b.pdf", Q2, page=7)]
    scores = score_item(gold_item(evidence=TWO_FILES), prediction(citations=wrong), page_text)
    assert scores["page_correct"] == 0.0


def test_without_page_text_verbatim_and_page_accuracy_are_none():
    citations = [citation("a.pdf", Q1, page=3)]
    scores = score_item(gold_item(), prediction(citations=citations))
    assert scores["verbatim"] is None
    assert scores["page_correct"] is None
    assert scores["citation_precision"] == 1.0


def test_page_accuracy_has_nothing_to_judge_without_correct_paged_citations():
    citations = [citation("a.pdf", Q1, page=None), citation("c.pdf", Q1, page=3)]
    scores = score_item(gold_item(), prediction(citations=citations), page_text)
    assert scores["page_correct"] is None


def test_quote_across_a_page_break():
    pages = {
        ("a.pdf", 3): "Tekst. Regjeringen vil styrke samhandlingen",
        ("a.pdf", 4): "mellom kommunene og sykehusene i hele landet. Slutt.",
    }

    def across(file: str, page: int | None) -> str | None:
        return pages.get((file, page))

    # A citation gives the page where its quote starts.
    on_start = score_item(gold_item(), prediction(citations=[citation("a.pdf", Q1, 3)]), across)
    assert on_start["verbatim"] == 1.0
    assert on_start["page_correct"] == 1.0
    # Citing the page where the quote ends: not verbatim on its page, but the evidence
    # does stand partly on that page.
    on_end = score_item(gold_item(), prediction(citations=[citation("a.pdf", Q1, 4)]), across)
    assert on_end["verbatim"] == 0.0
    assert on_end["page_correct"] == 1.0


def test_page_text_none_page_for_unpaged_text():
    def unpaged(file: str, page: int | None) -> str | None:
        return "Hele teksten. " + Q1 if (file, page) == ("a.pdf", None) else None

    scores = score_item(gold_item(), prediction(citations=[citation("a.pdf", Q1, None)]), unpaged)
    assert scores["verbatim"] == 1.0
    assert scores["page_correct"] is None


def test_page_accuracy_by_the_located_page_of_the_gold_quote():
    # The gold quote stands on physical page 3, which prints as "1".
    located = ((QuoteLocation(page=3, page_end=3, page_label="1"),),)
    on_page = score_item(
        gold_item(), prediction(citations=[citation("a.pdf", Q1, 3)]), None, located
    )
    assert on_page["page_correct"] == 1.0
    # A citation that gives the printed label as its page is wrong.
    on_label = score_item(
        gold_item(), prediction(citations=[citation("a.pdf", Q1, 1)]), None, located
    )
    assert on_label["page_correct"] == 0.0
    # The located page wins over the page text, where the quote is on page 3 as well.
    both = score_item(
        gold_item(), prediction(citations=[citation("a.pdf", Q1, 3)]), page_text, located
    )
    assert both["page_correct"] == 1.0 and both["verbatim"] == 1.0


def test_page_accuracy_across_a_located_page_break():
    located = ((QuoteLocation(page=4, page_end=5, page_label="2"),),)
    scores = [
        score_item(gold_item(), prediction(citations=[citation("a.pdf", Q1, page)]), None, located)
        for page in (3, 4, 5)
    ]
    assert [s["page_correct"] for s in scores] == [0.0, 1.0, 1.0]


def test_page_accuracy_accepts_every_page_the_gold_quote_stands_on():
    # A summary sentence repeated in a later chapter: citing either page is right.
    located = ((QuoteLocation(3, 3, "1"), QuoteLocation(40, 40, "38")),)
    scores = [
        score_item(gold_item(), prediction(citations=[citation("a.pdf", Q1, page)]), None, located)
        for page in (3, 40, 38)
    ]
    assert [s["page_correct"] for s in scores] == [1.0, 1.0, 0.0]


def lines_citation(file: str, quote: str, first: int, last: int) -> dict:
    return {**citation(file, quote, None), "line_start": first, "line_end": last}


def test_line_accuracy_by_the_file_lines_of_the_gold_quote():
    item = gold_item(evidence=(("a.txt", Q1), ("b.txt", Q2)))
    located = (
        (QuoteLocation(line_start=10, line_end=12),),
        (QuoteLocation(line_start=40, line_end=40),),
    )
    citations = [
        lines_citation("a.txt", Q1, 12, 13),  # overlaps lines 10-12
        lines_citation("a.txt", Q1, 13, 14),  # right quote, wrong lines
        lines_citation("b.txt", Q2, 40, 40),
        lines_citation("c.txt", Q1, 10, 12),  # wrong file: not correct, not judged
        # Correct by the alias in another sentence: the gold quote's lines do not judge it.
        lines_citation("b.txt", "Satsen er satt til 39 200 kroner.", 5, 5),
        citation("a.txt", Q1, None),  # no lines: not judged
    ]
    scores = score_item(item, prediction(citations=citations), None, located)
    assert scores["line_correct"] == pytest.approx(2 / 3)
    assert scores["page_correct"] is None
    assert scores["evidence_at"] == ["a.txt lines 10–12", "b.txt line 40"]
    # Without known lines there is nothing to judge.
    assert score_item(item, prediction(citations=citations))["line_correct"] is None


# --- unanswerable items --------------------------------------------------------------------


def test_unanswerable_item_scores_only_the_refusal():
    item = gold_item(evidence=(), answer="", aliases=(), answerable=False, type="unanswerable")
    pred = prediction(
        answer="Jeg fant ikke svar på dette i dokumentene.",
        refused=True,
        citations=[citation("a.pdf", Q1)],
        retrieved=[chunk("a.pdf", Q1)],
        latency_ms=42.0,
    )
    scores = score_item(item, pred, page_text)
    assert scores["refused"] is True
    assert scores["answerable"] is False
    assert scores["type"] == "unanswerable"
    assert scores["latency_ms"] == 42.0
    for name in (
        "rank",
        "hit@1",
        "hit@5",
        "hit@10",
        "rr@10",
        "ndcg@10",
        "evidence_recall@5",
        "correct",
        "token_f1",
        "citation_precision",
        "citation_recall",
        "verbatim",
        "page_correct",
    ):
        assert scores[name] is None, name


# --- aggregate -----------------------------------------------------------------------------


def item_scores(**values) -> dict:
    scores = dict.fromkeys(
        (
            "rank",
            "hit@1",
            "hit@5",
            "hit@10",
            "rr@10",
            "ndcg@10",
            "evidence_recall@5",
            "correct",
            "token_f1",
            "citation_precision",
            "citation_recall",
            "verbatim",
            "page_correct",
        )
    )
    scores.update(values)
    return scores


def retrieval(hit1, hit5, hit10, rr, ndcg, er5) -> dict:
    return {
        "hit@1": hit1,
        "hit@5": hit5,
        "hit@10": hit10,
        "rr@10": rr,
        "ndcg@10": ndcg,
        "evidence_recall@5": er5,
    }


ITEMS = [
    item_scores(
        type="factoid", answerable=True, refused=False, latency_ms=100.0, n_evidence=1,
        **retrieval(1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        correct=True, token_f1=1.0,
        citation_precision=1.0, citation_recall=1.0, verbatim=1.0, page_correct=None,
        line_correct=1.0,
    ),
    item_scores(
        type="factoid", answerable=True, refused=True, latency_ms=200.0, n_evidence=2,
        refusal_reason="refusal_head",
        **retrieval(0.0, 1.0, 1.0, 0.5, 0.6, 0.5),
        correct=False, token_f1=0.5,
        citation_precision=None, citation_recall=0.0, verbatim=None, page_correct=0.5,
    ),
    item_scores(
        type="multi", answerable=True, refused=False, latency_ms=400.0, n_evidence=3,
        **retrieval(0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        correct=True, token_f1=0.25,
        citation_precision=0.5, citation_recall=0.5, verbatim=0.0, page_correct=1.0,
        line_correct=0.0,
    ),
    item_scores(
        type="unanswerable", answerable=False, refused=True, latency_ms=1000.0, n_evidence=0,
        refusal_reason="coverage",
    ),
    item_scores(
        type="unanswerable", answerable=False, refused=False, latency_ms=300.0, n_evidence=0
    ),
]  # fmt: skip


def test_aggregate_overall():
    result = aggregate(ITEMS)
    assert set(result) == {
        "n",
        "n_answerable",
        "n_unanswerable",
        "retrieval",
        "answers",
        "citations",
        "refusals",
        "claims",
        "latency_ms",
        "by_type",
    }
    assert (result["n"], result["n_answerable"], result["n_unanswerable"]) == (5, 3, 2)
    assert result["retrieval"] == pytest.approx(
        {
            "hit@1": 1 / 3,
            "hit@5": 2 / 3,
            "hit@10": 2 / 3,
            "mrr@10": 0.5,
            "ndcg@10": 1.6 / 3,
            # Only the items with two or more evidence quotes: (0.5 + 0) / 2.
            "evidence_recall@5": 0.25,
        }
    )
    assert result["answers"] == pytest.approx({"accuracy": 2 / 3, "token_f1": 1.75 / 3})
    assert result["citations"] == pytest.approx(
        {
            "precision": 0.75,
            "recall": 0.5,
            "verbatim": 0.5,
            "page_accuracy": 0.75,
            "line_accuracy": 0.5,
            "lines_hold_quote": None,
        }
    )
    refusals = dict(result["refusals"])
    assert refusals.pop("by_reason") == {
        "unanswerable": {"coverage": 1},
        "answerable": {"refusal_head": 1},
    }
    assert refusals == pytest.approx({"recall_unanswerable": 0.5, "false_refusal_rate": 1 / 3})
    # Sorted latencies 100, 200, 300, 400, 1000: p95 at position 3.8 -> 400 + 0.8 * 600.
    assert result["latency_ms"] == pytest.approx({"p50": 300.0, "p95": 880.0})


def test_aggregate_by_type():
    by_type = aggregate(ITEMS)["by_type"]
    assert sorted(by_type) == ["factoid", "multi", "unanswerable"]
    assert all("by_type" not in part for part in by_type.values())

    factoid = by_type["factoid"]
    assert (factoid["n"], factoid["n_answerable"], factoid["n_unanswerable"]) == (2, 2, 0)
    assert factoid["retrieval"]["hit@1"] == 0.5
    assert factoid["retrieval"]["mrr@10"] == 0.75
    assert factoid["retrieval"]["evidence_recall@5"] == 0.5
    assert factoid["answers"]["accuracy"] == 0.5
    assert factoid["citations"]["precision"] == 1.0
    assert factoid["refusals"] == {
        "recall_unanswerable": None,
        "false_refusal_rate": 0.5,
        "by_reason": {"unanswerable": {}, "answerable": {"refusal_head": 1}},
    }
    assert factoid["latency_ms"] == pytest.approx({"p50": 150.0, "p95": 195.0})

    multi = by_type["multi"]
    assert multi["n"] == 1
    assert multi["retrieval"]["evidence_recall@5"] == 0.0
    assert multi["answers"]["token_f1"] == 0.25

    unanswerable = by_type["unanswerable"]
    assert (unanswerable["n_answerable"], unanswerable["n_unanswerable"]) == (0, 2)
    assert all(value is None for value in unanswerable["retrieval"].values())
    assert all(value is None for value in unanswerable["answers"].values())
    assert all(value is None for value in unanswerable["citations"].values())
    assert unanswerable["refusals"] == {
        "recall_unanswerable": 0.5,
        "false_refusal_rate": None,
        "by_reason": {"unanswerable": {"coverage": 1}, "answerable": {}},
    }
    assert unanswerable["latency_ms"] == pytest.approx({"p50": 650.0, "p95": 965.0})


def test_aggregate_of_nothing():
    result = aggregate([])
    assert (result["n"], result["n_answerable"], result["n_unanswerable"]) == (0, 0, 0)
    assert result["retrieval"]["hit@1"] is None
    assert result["latency_ms"] == {"p50": None, "p95": None}
    assert result["by_type"] == {}


def test_percentile():
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0], 95) == pytest.approx(19.5)
    assert percentile([], 50) is None


# --- evaluate ------------------------------------------------------------------------------


def test_evaluate_matches_by_id():
    gold = [
        gold_item(id="q1"),
        gold_item(
            id="q2", evidence=(), answer="", aliases=(), answerable=False, type="unanswerable"
        ),
    ]
    preds = [
        prediction(id="q2", answer="Jeg fant ikke svar.", refused=True, latency_ms=50.0),
        prediction(id="q1", retrieved=[chunk("a.pdf", Q1)], citations=[citation("a.pdf", Q1, 3)]),
        prediction(id="q9"),  # not in the gold set: ignored
    ]
    result, items = evaluate(gold, preds, page_text)
    assert [item["id"] for item in items] == ["q1", "q2"]
    assert items[0]["rank"] == 1 and items[0]["correct"] is True
    assert items[0]["verbatim"] == 1.0 and items[0]["page_correct"] == 1.0
    assert items[1]["refused"] is True and items[1]["rank"] is None
    assert result["n"] == 2
    assert result["retrieval"]["mrr@10"] == 1.0
    assert result["refusals"] == {
        "recall_unanswerable": 1.0,
        "false_refusal_rate": 0.0,
        # a prediction without refusal_reason (written before it was recorded)
        "by_reason": {"unanswerable": {"unknown": 1}, "answerable": {}},
    }
    assert result["latency_ms"] == pytest.approx({"p50": 75.0, "p95": 97.5})


def test_evaluate_names_a_gold_item_without_prediction():
    gold = [gold_item(id="q1"), gold_item(id="q2")]
    with pytest.raises(KildeError, match="'q2'"):
        evaluate(gold, [prediction(id="q1")])


def test_evaluate_rejects_two_predictions_for_one_id():
    with pytest.raises(KildeError, match="'q1'"):
        evaluate([gold_item(id="q1")], [prediction(id="q1"), prediction(id="q1")])


# --- line accuracy -------------------------------------------------------------------------


def test_lines_hold_quote_checks_the_quote_against_the_cited_file_lines():
    from kilde.eval.metrics import share_of_lines_holding_quote as lines_hold_quote

    files = {
        "a.txt": ["Tittel", "", "Det er behov for sam-", "handling mellom kommuner.", "Slutt."]
    }
    right = {
        "file": "a.txt",
        "quote": "behov for samhandling mellom",
        "line_start": 3,
        "line_end": 4,
    }
    short = {**right, "line_end": 3}  # the quote runs on to line 4
    paged = {"file": "b.pdf", "quote": "x", "page": 2}
    assert lines_hold_quote([right], files.get) == 1.0
    assert lines_hold_quote([right, short], files.get) == 0.5
    assert lines_hold_quote([paged], files.get) is None


def test_dropped_claims_are_counted_against_the_claims_made():
    shown = citation("a.pdf", Q1)
    preds = [
        {"answer": "x", "refused": False, "citations": [shown], "answerer": "llm",
         "dropped_claims": 2},
        {"answer": "y", "refused": False, "citations": [shown], "answerer": "rules",
         "dropped_claims": 1},  # the LLM's claims all failed; rules answered
        {"answer": "z", "refused": False, "citations": [shown, shown], "answerer": "llm"},
    ]  # fmt: skip
    items = [score_item(gold_item(), pred) for pred in preds]
    claims = aggregate(items)["claims"]
    assert claims["dropped"] == 3
    assert claims["dropped_rate"] == pytest.approx(3 / 7)  # 3 dropped of 3 + 4 shown
    assert claims["questions_with_dropped"] == pytest.approx(2 / 3)
    assert claims["llm_answered"] == pytest.approx(2 / 3)
