"""The PDF corpus builder: real paged PDFs with roman front matter, and the gold set mapped
onto their physical pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from kilde.errors import KildeError
from kilde.eval.gold import Evidence, GoldItem, load_gold, validate_gold
from kilde.eval.pdf_corpus import build_pdf_corpus, main, map_gold_to_pdfs
from kilde.ingest.catalog import load_catalog
from kilde.ingest.readers import read_source

ROOT = Path(__file__).resolve().parents[1]

LINES = [f"Linje {n} handler om tema nummer {n}." for n in range(1, 8)]


@pytest.fixture()
def text_corpus(tmp_path: Path) -> Path:
    d = tmp_path / "text"
    d.mkdir()
    (d / "a.txt").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    (d / "catalog.toml").write_text(
        '[files."a.txt"]\ntitle = "Rapport A"\npublisher = "Direktoratet"\ndate = "2025"\n',
        encoding="utf-8",
    )
    return d


def _item(quote: str) -> GoldItem:
    return GoldItem("a-1", "Hva?", "tema", ("tema",), (Evidence("a.txt", quote),), True, "entity")


def test_pages_break_every_n_lines_after_roman_front_matter(tmp_path, text_corpus):
    out = tmp_path / "pdf"
    (pdf,) = build_pdf_corpus(text_corpus, out, lines_per_page=3, progress=False)
    assert pdf == out / "a.pdf"
    # i, ii, then seven lines at three a page: 1, 2, 3.
    assert list(PdfReader(pdf).page_labels) == ["i", "ii", "1", "2", "3"]
    pages = read_source(pdf, "a.pdf").pages
    by_page = {p.page: p for p in pages}
    assert "Rapport A" in by_page[1].text and "Direktoratet" in by_page[1].text
    assert "Linje 4 handler" in by_page[4].text and "Linje 3 " not in by_page[4].text
    assert by_page[4].page_label == "2"
    assert load_catalog(out)["a.pdf"].title == "Rapport A"


def test_gold_items_move_to_the_pdf_page_their_quote_starts_on(tmp_path, text_corpus):
    out = tmp_path / "pdf"
    build_pdf_corpus(text_corpus, out, lines_per_page=3, progress=False)
    mapped = map_gold_to_pdfs([_item("Linje 5 handler om tema nummer 5.")], out)
    assert mapped[0].evidence == (Evidence("a.pdf", "Linje 5 handler om tema nummer 5.", page=4),)
    assert validate_gold(mapped, out) == []
    with pytest.raises(KildeError, match="a-1: quote not found in a.pdf"):
        map_gold_to_pdfs([_item("Linje 9 finnes ikke")], out)


def test_command_line_writes_pdfs_and_gold(tmp_path, text_corpus):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps(
            {
                "id": "a-1",
                "question": "Hva?",
                "answer": "tema",
                "answer_aliases": ["tema"],
                "evidence": [{"file": "a.txt", "quote": "Linje 2 handler"}],
                "answerable": True,
                "type": "entity",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    out, gold_out = tmp_path / "pdf", tmp_path / "pdf-gold.jsonl"
    argv = [str(out), "--corpus", str(text_corpus), "--gold", str(gold), "--quiet"]
    assert main([*argv, "--lines-per-page", "3", "--gold-out", str(gold_out)]) == 0
    assert load_gold(gold_out)[0].evidence == (Evidence("a.pdf", "Linje 2 handler", page=3),)


def test_the_pdf_gold_set_is_the_text_gold_set_on_pdfs():
    text = load_gold(ROOT / "eval/gold/kilde.jsonl")
    pdf = load_gold(ROOT / "eval/gold/kilde-pdf.jsonl")
    assert [g.id for g in pdf] == [g.id for g in text]
    for t, p in zip(text, pdf, strict=True):
        assert (p.question, p.answer, p.type) == (t.question, t.answer, t.type)
        assert [e.file for e in p.evidence] == [e.file[:-4] + ".pdf" for e in t.evidence]
        assert [e.quote for e in p.evidence] == [e.quote for e in t.evidence]
        assert all(e.page and e.page >= 3 for e in p.evidence)  # after the front matter
