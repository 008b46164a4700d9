"""The names and years a question pins its answer to (kilde.text.details)."""

from __future__ import annotations

import pytest

from kilde.text.details import asked_details, missing_details


@pytest.mark.parametrize(
    ("question", "details"),
    [
        ("Når skal Helseplattformen innføres i Helse Nord?", ["Helseplattformen", "Helse Nord"]),
        ("Hvor mange leger svarte i 2024?", ["2024"]),
        # a name joined to a common noun: the name is the detail
        ("Hva mener sykepleierne i NSF-undersøkelsen?", ["NSF"]),
        ("Hvor mange pasienter hadde St. Olavs hospital?", ["St. Olavs"]),
        # "og" parts two names; the question's first word is no name
        ("Hvor mange bor i Møre og Romsdal?", ["Møre", "Romsdal"]),
        ("Hvor mange kommuner bruker journalen?", []),
    ],
)
def test_asked_details(question, details):
    assert [d.text for d in asked_details(question)] == details


def test_a_longer_name_does_not_name_the_shorter_one():
    question = "Når skal Helseplattformen innføres i Helse Nord?"
    passage = "Helseplattformen ble innført i Helse Nord-Trøndelag i 2023."
    assert missing_details(question, [passage]) == ["Helse Nord"]
    assert missing_details(question, ["Helseplattformen kommer til Helse Nord i 2027."]) == []


def test_case_genitives_compounds_and_line_breaks_still_name_a_detail():
    question = "Hva sier Helsedirektoratets tall om Helseplattform-samarbeidet i Helse Midt-Norge?"
    passage = "HELSEDIREKTORATET skriver at Helseplattformen i Helse\nMidt-Norges region ..."
    assert missing_details(question, [passage]) == []


def test_a_year_must_stand_as_a_year():
    question = "Hvor mange svarte i 2022?"
    assert missing_details(question, ["I 20221 tilfeller svarte 2023-utvalget."]) == ["2022"]
    assert missing_details(question, ["Tabell: 2021 2022 2023"]) == []


def test_two_names_side_by_side_are_named_by_each_of_them():
    question = "Hvordan omtalte David Crosby Daryl Hannah?"
    assert [d.text for d in asked_details(question)] == ["David Crosby Daryl Hannah"]
    assert missing_details(question, ["Crosby sa at Hannah ... skrev David og Daryl"]) == []
    # each word must stand as a name: lower case or part of a longer name does not count
    assert missing_details(question, ["Crosby, Hannah, David og daryl"]) != []
