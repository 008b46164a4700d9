"""Near-miss "no answer" items for the reader (kilde.reader.nearmiss)."""

from __future__ import annotations

import re

from kilde.reader.data import ReaderItem
from kilde.reader.nearmiss import near_miss_items

ANSWER = "Helse Midt-Norge: I 2024 brukte 34 kommuner i Trøndelag Helseplattformen."
OTHER = "Helse Midt-Norge: Kommunene i Møre og Romsdal kom med i 2023."


def item(question: str, source: str = "kilde") -> ReaderItem:
    return ReaderItem(question, (OTHER, ANSWER), frozenset({1}), source)


def test_a_year_the_answer_holds_is_swapped_for_one_no_candidate_holds():
    made = near_miss_items([item("Hvor mange kommuner brukte plattformen i 2024?")], 1.0)
    assert len(made) == 1
    swapped = made[0]
    assert swapped.positives == frozenset()  # the target is "no answer"
    assert swapped.candidates == (OTHER, ANSWER)  # same sentences, only the question differs
    assert swapped.source == "kilde-nearmiss"
    year = re.search(r"\b(?:19|20)\d\d\b", swapped.question).group()
    assert year not in ("2024", "2023")  # 2023 stands in a candidate: not a near miss
    asked = "Hvor mange kommuner brukte plattformen i 2024?"
    assert swapped.question.replace(year, "2024") == asked


def test_a_name_is_swapped_for_a_name_of_the_same_source_that_no_candidate_holds():
    items = [
        item("Hvor mange kommuner i Trøndelag brukte plattformen?"),
        ReaderItem("Når kom Helse Vest med?", ("x",), frozenset({0}), "kilde"),
        ReaderItem("Hvem styrer Wikipedia?", ("x",), frozenset({0}), "norquad"),
    ]
    made = [m for m in near_miss_items(items, 1.0) if m.candidates == (OTHER, ANSWER)]
    assert [m.question for m in made] == ["Hvor mange kommuner i Vest brukte plattformen?"]


def test_questions_without_a_detail_from_the_answer_and_unanswerable_items_give_nothing():
    assert near_miss_items([item("Hvor mange kommuner bruker plattformen?")], 1.0) == []
    refused = ReaderItem("Hva skjedde i 2024?", (ANSWER,), frozenset(), "kilde-none")
    assert near_miss_items([refused], 1.0) == []


def test_share_sets_how_many_items_get_a_near_miss():
    items = [item(f"Hvor mange kommuner brukte plattformen i 2024 ({i})?") for i in range(400)]
    made = near_miss_items(items, 0.25, seed=3)
    assert 60 < len(made) < 140
    assert near_miss_items(items, 0.0) == []
