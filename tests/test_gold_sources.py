"""Gold sets over PDF, DOCX, Markdown and text files: quotes found in the text ingest reads,
on their stated page, and placed on physical pages and file lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pdfs import make_pdf  # tests/pdfs.py

from kilde.eval.gold import (
    Evidence,
    GoldItem,
    load_gold,
    locate_evidence,
    validate_gold,
    write_gold,
)
from kilde.eval.sources import QuoteLocation, SourceFiles

# Physical pages 1-4 print as i, ii, 1, 2: physical page 3 is the printed "1".
PAGES = [
    "Rapport om samhandling\nForord",
    "Innhold\n1 Innledning",
    "Kommunene har i 2024 brukt 39 200 kroner per innbygger på helse- og omsorgstjenester.\n"
    "Tiltaket skal styrke samhandlingen mellom kommunene og sykehusene i regionen.",
    "Ordningen ble innført 1. mars 2023 og evalueres i 2026.\n"
    "Det siste avsnittet på siden fortsetter",
    "på neste side og slutter her.",
]
LABELS = ["i", "ii", "1", "2", "3"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    make_pdf(d / "rapport.pdf", PAGES, labels=LABELS)
    (d / "notat.txt").write_text(
        "Notat\n\nFørste avsnitt om tjenesten.\nDen andre linjen nevner\nsam-\n"
        "handlingsreformen fra 2012.\n\nSiste linje.\n",
        encoding="utf-8",
    )
    (d / "notat.md").write_text("# Tittel\n\nEn setning i **Markdown**.\n", encoding="utf-8")
    import docx

    document = docx.Document()
    document.add_paragraph("Saken gjelder tilskudd til kommunene.")
    document.save(str(d / "brev.docx"))
    return d


def _item(evidence: list[dict], item_id: str = "p-001", type_: str = "number") -> dict:
    return {
        "id": item_id,
        "question": "Hvor mye?",
        "answer": "39 200 kroner.",
        "answer_aliases": ["39 200 kroner"],
        "evidence": evidence,
        "answerable": True,
        "type": type_,
    }


def _gold_items(*evidence: Evidence) -> list[GoldItem]:
    answer = ("39 200 kroner",)
    return [GoldItem("p-001", "Hvor mye?", answer[0], answer, evidence, True, "number")]


def _load(tmp_path: Path, objs: list[dict]) -> list[GoldItem]:
    path = tmp_path / "g.jsonl"
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), "utf-8")
    return load_gold(path)


def test_quotes_in_every_supported_format_validate(tmp_path, corpus):
    items = _load(
        tmp_path,
        [
            _item([{"file": "rapport.pdf", "quote": "39 200 kroner per innbygger", "page": 3}]),
            _item([{"file": "rapport.pdf", "quote": "evalueres i 2026"}], "p-002"),
            _item([{"file": "notat.txt", "quote": "Den andre linjen nevner"}], "p-003"),
            _item([{"file": "notat.md", "quote": "En setning i **Markdown**."}], "p-004"),
            _item([{"file": "brev.docx", "quote": "tilskudd til kommunene"}], "p-005"),
        ],
    )
    assert validate_gold(items, corpus) == []


def test_a_quote_not_on_its_stated_page_names_item_file_and_page(tmp_path, corpus):
    # The quote stands on physical page 3, which prints as "1": page 1 is the label, wrong.
    items = _load(tmp_path, [_item([{"file": "rapport.pdf", "quote": "39 200 kroner", "page": 1}])])
    problems = validate_gold(items, corpus)
    assert len(problems) == 1
    assert problems[0].startswith("p-001: quote not on page 1 of rapport.pdf")
    assert "found on p. 3 (printed 1)" in problems[0]


def test_a_quote_missing_from_a_pdf_is_an_error(tmp_path, corpus):
    items = _load(tmp_path, [_item([{"file": "rapport.pdf", "quote": "40 000 kroner"}])])
    problems = validate_gold(items, corpus)
    assert len(problems) == 1 and "p-001: quote not found in rapport.pdf" in problems[0]


def test_a_page_on_a_file_without_pages_is_an_error(tmp_path, corpus):
    items = _load(tmp_path, [_item([{"file": "notat.txt", "quote": "Siste linje.", "page": 1}])])
    assert validate_gold(items, corpus) == [
        "p-001: evidence names page 1, but notat.txt has no pages"
    ]


def test_evidence_pages_are_found_when_not_stated(corpus):
    sources = SourceFiles(corpus)
    items = _gold_items(
        Evidence("rapport.pdf", "innført 1. mars 2023"),
        Evidence("rapport.pdf", "styrke samhandlingen mellom kommunene", page=3),
        # Runs from physical page 4 on to page 5.
        Evidence("rapport.pdf", "siden fortsetter på neste side"),
        Evidence("notat.txt", "nevner samhandlingsreformen fra 2012"),
    )
    assert validate_gold(items, corpus, sources) == []
    located = locate_evidence(items, sources)["p-001"]
    assert located[0] == (QuoteLocation(page=4, page_end=4, page_label="2"),)
    assert located[1] == (QuoteLocation(page=3, page_end=3, page_label="1"),)
    assert located[2] == (QuoteLocation(page=4, page_end=5, page_label="2"),)
    # File lines of the text as it lies on disk, the hyphenated word joined across lines.
    assert located[3] == (QuoteLocation(line_start=4, line_end=6),)
    assert located[0][0].describe() == "p. 4 (printed 2)"
    assert located[2][0].describe() == "p. 4–5 (printed 2)"
    assert located[3][0].describe() == "lines 4–6"


def test_a_repeated_quote_is_found_on_every_line(tmp_path):
    (tmp_path / "a.txt").write_text("Ja.\nEn to tre.\nNei.\nEn to\ntre.\n", encoding="utf-8")
    sources = SourceFiles(tmp_path)
    assert sources.locate("a.txt", "en to tre") == [
        QuoteLocation(line_start=2, line_end=2),
        QuoteLocation(line_start=4, line_end=5),
    ]


def test_pages_round_trip_through_the_gold_file(tmp_path, corpus):
    items = _gold_items(Evidence("rapport.pdf", "39 200 kroner", page=3), Evidence("a.txt", "x"))
    path = tmp_path / "g.jsonl"
    write_gold(items, path)
    assert load_gold(path) == items
    evidence = json.loads(path.read_text(encoding="utf-8"))["evidence"]
    assert evidence == [
        {"file": "rapport.pdf", "quote": "39 200 kroner", "page": 3},
        {"file": "a.txt", "quote": "x"},
    ]
