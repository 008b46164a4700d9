"""read_source and iter_sources on real files written in tmp_path."""

from __future__ import annotations

import logging
from pathlib import Path

import docx
import pytest
from pdfs import FONT, make_pdf, make_scanned_pdf  # tests/pdfs.py

from kilde.errors import SKIP_CODES, ConfigError, SkipFile
from kilde.ingest.readers import SUPPORTED, SourceText, iter_sources, read_source

needs_font = pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is not installed")


def read(path: Path) -> SourceText:
    return read_source(path, path.name)


def skip_reason(path: Path) -> str:
    with pytest.raises(SkipFile) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(path.name + ":")  # the file is named
    assert caught.value.code in SKIP_CODES  # what the UI translates
    return message


def skip_code(path: Path) -> str:
    with pytest.raises(SkipFile) as caught:
        read(path)
    return caught.value.code


# --- PDF -----------------------------------------------------------------------------------


@needs_font
def test_pdf_pages_labels_and_norwegian_text(tmp_path):
    path = make_pdf(
        tmp_path / "rapport.pdf",
        [
            "Forord\nTakk til alle – «særlig» de på Ørland.",
            "Innhold\n1 Bakgrunn",
            "1 Bakgrunn\nGod sam-\nhandling mellom sykehus og kommune.",
            "2 Funn\nÆØÅ æøå",
        ],
        labels=["i", "ii", "1", "2"],
        title="Helsepersonellundersøkelsen 2024",
    )
    source = read(path)
    assert source.paged is True
    assert source.title_hint == "Helsepersonellundersøkelsen 2024"
    assert source.warnings == ()
    assert [(p.page, p.page_label) for p in source.pages] == [
        (1, "i"),
        (2, "ii"),
        (3, "1"),
        (4, "2"),
    ]
    assert all(p.file == "rapport.pdf" for p in source.pages)
    assert "Takk til alle – «særlig» de på Ørland." in source.pages[0].text
    assert "God samhandling mellom sykehus og kommune." in source.pages[2].text  # cleaned
    assert "ÆØÅ æøå" in source.pages[3].text


@needs_font
def test_pdf_without_labels_gets_page_numbers_as_labels(tmp_path):
    source = read(make_pdf(tmp_path / "a.pdf", ["En.", "To."]))
    assert [(p.page, p.page_label) for p in source.pages] == [(1, "1"), (2, "2")]


@needs_font
def test_pdf_with_owner_password_only_opens(tmp_path):
    path = make_pdf(tmp_path / "laast.pdf", ["Åpen tekst med æøå."], owner_password="eier")
    assert b"/Encrypt" in path.read_bytes()  # really encrypted
    source = read(path)
    assert source.pages[0].text == "Åpen tekst med æøå."


@needs_font
def test_pdf_with_user_password_is_skipped(tmp_path):
    path = make_pdf(tmp_path / "hemmelig.pdf", ["Hemmelig."], user_password="bruker")
    message = skip_reason(path)
    assert "passord" in message and "lagre en kopi uten passord" in message
    assert skip_code(path) == "password"


@needs_font
def test_truncated_pdf_is_skipped(tmp_path):
    data = make_pdf(tmp_path / "good.pdf", ["Litt tekst."]).read_bytes()
    path = tmp_path / "avkuttet.pdf"
    path.write_bytes(data[: len(data) // 2])
    assert "ikke en lesbar PDF" in skip_reason(path)


def test_garbage_with_pdf_name_is_skipped(tmp_path, caplog):
    path = tmp_path / "tull.pdf"
    path.write_bytes(b"This is not a PDF at all.\n" * 50)
    with caplog.at_level(logging.WARNING):
        assert "ikke en lesbar PDF" in skip_reason(path)
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]  # no log noise


def test_empty_pdf_file_is_skipped(tmp_path):
    path = tmp_path / "tom.pdf"
    path.write_bytes(b"")
    skip_reason(path)


@needs_font
def test_scanned_page_warns_and_the_others_stay(tmp_path):
    path = make_pdf(tmp_path / "blandet.pdf", ["Side en.", None, "Side tre."])
    source = read(path)
    assert [p.page for p in source.pages] == [1, 3]
    assert source.pages[1].text == "Side tre."
    assert source.warnings == (
        "blandet.pdf s. 2: ingen tekst (skannet?); OCR er slått av; "
        "sett ocr = auto for å lese skannede sider",
    )


@needs_font
def test_pdf_with_no_text_at_all_is_skipped(tmp_path):
    message = skip_reason(make_scanned_pdf(tmp_path / "skannet.pdf", 2))
    assert "ingen tekst" in message and "OCR" in message


# --- text files ----------------------------------------------------------------------------


def test_utf8_text_is_one_unpaged_page(tmp_path):
    path = tmp_path / "notat.txt"
    path.write_text("Notat om Helseplattformen\n\nTeksten går\nover to linjer.\n", encoding="utf-8")
    source = read(path)
    assert source.paged is False
    assert source.title_hint == "Notat om Helseplattformen"
    assert len(source.pages) == 1
    page = source.pages[0]
    assert (page.file, page.page, page.page_label) == ("notat.txt", None, None)
    assert page.text == "Notat om Helseplattformen\n\nTeksten går over to linjer."
    assert source.warnings == ()


def test_utf8_bom_is_dropped(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffÆrlig talt.".encode())
    assert read(path).pages[0].text == "Ærlig talt."


def test_latin1_text_is_decoded(tmp_path):
    path = tmp_path / "gammel.txt"
    path.write_bytes("Blåbærsyltetøy på Ørland – «godt».".encode("cp1252"))
    source = read(path)
    assert source.pages[0].text == "Blåbærsyltetøy på Ørland – «godt»."
    assert source.warnings == ("gammel.txt: ikke UTF-8; lest som cp1252",)


def test_latin1_with_a_stray_byte_is_decoded(tmp_path):
    path = tmp_path / "latin1.txt"
    text = "Sjø og fjære på Ørlandet. " * 10
    path.write_bytes(text.encode("latin-1") + b"\x81")  # \x81 is not cp1252: Latin-1 it is
    source = read(path)
    assert source.pages[0].text.startswith("Sjø og fjære på Ørlandet.")
    assert source.warnings == ("latin1.txt: ikke UTF-8; lest som latin-1",)


def test_utf16_with_bom_is_read(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes("Tekst fra Notisblokk, æøå.".encode("utf-16"))
    assert read(path).pages[0].text == "Tekst fra Notisblokk, æøå."


@pytest.mark.parametrize("content", [b"", b"   \n\n\t \r\n"])
def test_empty_text_is_skipped(tmp_path, content):
    path = tmp_path / "tom.txt"
    path.write_bytes(content)
    assert "filen er tom" in skip_reason(path) and skip_code(path) == "empty"


def test_binary_with_txt_name_is_skipped(tmp_path):
    path = tmp_path / "bilde.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    assert "binære data" in skip_reason(path) and skip_code(path) == "binary"


def test_control_characters_without_nul_are_binary(tmp_path):
    path = tmp_path / "rart.md"
    path.write_bytes(b"tekst " + b"\x01\x02\x03\x04\x05\x06\x07\x08" * 20 + b" mer tekst")
    assert skip_code(path) == "binary"


def test_form_feeds_are_pages(tmp_path):
    path = tmp_path / "pdftotext.txt"
    path.write_text("Side en.\fSide to\nfortsetter.\f\fSide fire.\f", encoding="utf-8")
    source = read(path)
    assert source.paged is True
    assert [(p.page, p.page_label, p.text) for p in source.pages] == [
        (1, "1", "Side en."),
        (2, "2", "Side to fortsetter."),
        (4, "4", "Side fire."),  # the empty third page keeps its number
    ]


def test_markdown_title_without_hashes(tmp_path):
    path = tmp_path / "les.md"
    path.write_text("# Veileder for journal\n\nInnhold her.\n", encoding="utf-8")
    assert read(path).title_hint == "Veileder for journal"


def test_long_first_line_is_cut_for_the_title(tmp_path):
    path = tmp_path / "lang.txt"
    path.write_text("ord " * 100, encoding="utf-8")
    title = read(path).title_hint
    assert title is not None and len(title) <= 151 and title.endswith("…")


# --- Word ----------------------------------------------------------------------------------


def test_docx_paragraphs_and_table(tmp_path):
    document = docx.Document()
    document.core_properties.title = "Notat om journal"
    document.add_heading("Innledning", level=1)
    document.add_paragraph("Første avsnitt om Helseplattformen.")
    table = document.add_table(rows=2, cols=3)
    for r, row in enumerate([["År", "Antall", "Andel"], ["2024", "4240", "100 %"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("siste avsnitt uten stor bokstav")
    path = tmp_path / "notat.docx"
    document.save(path)

    source = read(path)
    assert source.paged is False
    assert source.title_hint == "Notat om journal"
    assert len(source.pages) == 1 and source.pages[0].page is None
    assert source.pages[0].text == (
        "Innledning\n\nFørste avsnitt om Helseplattformen.\n\n"
        "År | Antall | Andel\n2024 | 4240 | 100 %\n\n"
        "siste avsnitt uten stor bokstav"  # Word paragraphs are not reflowed
    )


def test_docx_title_falls_back_to_first_paragraph(tmp_path):
    document = docx.Document()
    document.add_paragraph("")
    document.add_paragraph("Referat fra møtet")
    path = tmp_path / "referat.docx"
    document.save(path)
    assert read(path).title_hint == "Referat fra møtet"


def test_docx_merged_cells_count_once(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Sammenslått"
    table.cell(0, 2).text = "Egen"
    path = tmp_path / "tabell.docx"
    document.save(path)
    assert read(path).pages[0].text == "Sammenslått | Egen"


def test_corrupt_docx_is_skipped(tmp_path):
    path = tmp_path / "skadet.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip file")
    assert "ikke en lesbar Word-fil" in skip_reason(path)


def test_empty_docx_is_skipped(tmp_path):
    path = tmp_path / "tom.docx"
    docx.Document().save(path)
    assert "ingen tekst" in skip_reason(path) and skip_code(path) == "no_text"


# --- other files and listing ---------------------------------------------------------------


def test_unsupported_type_is_skipped(tmp_path):
    path = tmp_path / "regneark.xlsx"
    path.write_bytes(b"PK")
    assert "støttes ikke" in skip_reason(path) and skip_code(path) == "unsupported"


def test_missing_file_is_skipped(tmp_path):
    skip_reason(tmp_path / "borte.txt")


def test_rel_names_the_pages(tmp_path):
    sub = tmp_path / "mappe"
    sub.mkdir()
    (sub / "a.txt").write_text("Tekst.", encoding="utf-8")
    source = read_source(sub / "a.txt", "mappe/a.txt")
    assert source.file == "mappe/a.txt" and source.pages[0].file == "mappe/a.txt"


def test_iter_sources(tmp_path):
    for rel in [
        "b.pdf",
        "a.txt",
        "sub/c.md",
        "sub/D.DOCX",
        "catalog.toml",
        "bilde.png",
        ".skjult.txt",
        ".git/x.txt",
        "sub/.cache/y.md",
        "~$laast.docx",
    ]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "mappe.txt").mkdir()  # a folder with a text name is not a file
    found = [p.relative_to(tmp_path).as_posix() for p in iter_sources(tmp_path)]
    assert found == ["a.txt", "b.pdf", "sub/D.DOCX", "sub/c.md"]
    assert SUPPORTED == (".pdf", ".txt", ".md", ".docx")


def test_iter_sources_needs_a_folder(tmp_path):
    with pytest.raises(ConfigError):
        iter_sources(tmp_path / "finnes-ikke")


@needs_font
def test_pdf_without_metadata_title_takes_its_first_heading(tmp_path):
    path = make_pdf(
        tmp_path / "uten-tittel.pdf",
        [
            "Side 1 av 3\n\nÅrsrapport for legevakten 2024\n\nLegevakten hadde flere "
            "henvendelser i 2024 enn året før, og ventetiden gikk ned.",
        ],
    )
    assert read(path).title_hint == "Årsrapport for legevakten 2024"


def test_text_title_is_the_first_heading_not_a_paragraph(tmp_path):
    path = tmp_path / "notat.txt"
    path.write_text(
        "Dette notatet er skrevet for kommunestyret, som ba om en oversikt i forrige møte.\n\n"
        "Oversikt over legevakten\n\n"
        "Legevakten hadde flere henvendelser i 2024 enn året før, og ventetiden gikk ned.\n",
        encoding="utf-8",
    )
    assert read(path).title_hint == "Oversikt over legevakten"
