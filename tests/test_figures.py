"""Figures in Norwegian text: extraction, normalisation and exact comparison."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kilde.text.figures import compare_figures, extract_figures, same_figure, without_figures


def kinds(text: str) -> list[tuple[str, object]]:
    return [(f.kind, f.value) for f in extract_figures(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("39 200 ansatte", [("number", Decimal(39200))]),
        ("39\u00a0200 ansatte", [("number", Decimal(39200))]),
        ("39200 ansatte", [("number", Decimal(39200))]),
        ("14,2 milliarder kroner", [("number", Decimal("14.2e9"))]),
        ("ca 3,7MRD NOK", [("number", Decimal("3.7e9"))]),
        ("2140 mill. kroner", [("number", Decimal("2140e6"))]),
        ("7,8 %", [("percent", Decimal("7.8"))]),
        ("7,8 prosent", [("percent", Decimal("7.8"))]),
        ("i 2022", [("year", 2022)]),
        ("12. november 2022", [("date", (12, 11, 2022))]),
        ("12.11.2022", [("date", (12, 11, 2022))]),
        ("12. Nov. 2022", [("date", (12, 11, 2022))]),
        ("siden 12.nov)", [("date", (12, 11, None))]),
        ("i oktober 2025", [("date", (None, 10, 2025))]),
        ("de ni sykehusene", [("number", Decimal(9))]),
        ("i mai var det fint", []),
        ("siden 12. oktober.", [("date", (12, 10, None))]),
    ],
)
def test_extracts_norwegian_figures(text, expected):
    assert kinds(text) == expected


def test_a_full_stop_after_a_month_name_ends_the_sentence():
    (figure,) = extract_figures("Besøk siden 12. oktober.")
    assert figure.text == "12. oktober"
    (abbreviated,) = extract_figures("Besøk siden 12. okt. i fjor")
    assert abbreviated.text == "12. okt."


def test_written_forms_of_one_figure_are_the_same():
    for a, b in [
        ("39 200", "39\u00a0200"),
        ("7,8 %", "7,8 prosent"),
        ("12. november 2022", "12.11.2022"),
        ("3,7 milliarder", "3,7MRD"),
        ("2022", "12. november 2022"),
        ("sju", "7"),
    ]:
        (fa,), (fb,) = extract_figures(a), extract_figures(b)
        assert same_figure(fa, fb), (a, b)


def test_close_is_not_the_same():
    for a, b in [
        ("39 000", "39 200"),
        ("7,8 %", "7,9 %"),
        ("3,7 millioner", "3,7 milliarder"),
        ("2017", "2019"),
        ("12. november 2021", "12. november 2022"),
        ("7,8 %", "7,8"),
    ]:
        (fa,), (fb,) = extract_figures(a), extract_figures(b)
        assert not same_figure(fa, fb), (a, b)


def test_a_date_without_its_year_takes_the_year_of_its_sentence():
    source = "Helse Møre og Romsdal 27. april 2024, mens Helse Nord-Trøndelag 9. november samme år."
    (claim,) = extract_figures("9. november 2024")
    figures = extract_figures(source)
    assert any(same_figure(claim, s, figures) for s in figures)


def test_a_differing_figure_is_paired_with_the_one_it_stands_for():
    claim = "Kommunene eier 30 prosent av aksjene i selskapet."
    source = (
        "Helse Midt-Norge RHF eier 60 prosent av aksjene og kommunene eier 40 prosent av "
        "aksjene i selskapet."
    )
    missing, pairs = compare_figures(extract_figures(claim), extract_figures(source), claim, source)
    assert [f.text for f in missing] == ["30 prosent"]
    assert [(d.text, s.text) for d, s in pairs] == [("30 prosent", "40 prosent")]


def test_without_figures_blanks_them():
    assert without_figures("I 2025 ble 18 237 avvik meldt.").split() == [
        "I",
        "ble",
        "avvik",
        "meldt.",
    ]
