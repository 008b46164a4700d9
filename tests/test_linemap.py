"""Line citations count the lines of the file as stored, the lines an editor shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilde.ingest.linemap import decode_file_lines, quote_in_lines, source_lines
from kilde.ingest.readers import read_source
from kilde.text import sentence_spans

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def cite(path: Path, quote: str) -> tuple[int, int]:
    """The file lines kilde names for ``quote``, found in the cleaned text of ``path``."""
    page = read_source(path, path.name).pages[0]
    assert page.page is None
    start = page.text.index(quote)
    lines = source_lines(page.line_map, start, start + len(quote))
    assert lines is not None
    return lines


def check_every_sentence(path: Path) -> int:
    """Every sentence of the cleaned text stands within the file lines cited for it."""
    page = read_source(path, path.name).pages[0]
    file_lines = decode_file_lines(path.read_bytes())
    spans = sentence_spans(page.text)
    for start, end in spans:
        first, last = source_lines(page.line_map, start, end)
        quote = page.text[start:end]
        assert quote_in_lines(quote, file_lines[first - 1 : last]), (quote, first, last)
        # and the cited lines are no wider than needed: the first and last line hold words
        # of the quote
        assert first == last or not quote_in_lines(quote, file_lines[first:last])
    return len(spans)


def test_rewrapped_paragraph_names_every_line(tmp_path):
    path = tmp_path / "notat.txt"
    path.write_text(
        "Tittel på notatet\n"
        "\n"
        "Helseplattformen ble innført i Helse Midt-Norge i 2022, og den har siden den gang\n"
        "vært gjenstand for mye debatt i mange kommuner og blant de ansatte ved sykehusene.\n"
        "Kostnadene er store.\n",
        encoding="utf-8",
    )
    assert cite(path, "Helseplattformen ble innført") == (3, 3)
    assert cite(
        path,
        "Helseplattformen ble innført i Helse Midt-Norge i 2022, og den har siden den gang "
        "vært gjenstand",
    ) == (3, 4)
    assert cite(path, "Kostnadene er store.") == (5, 5)
    check_every_sentence(path)


def test_hyphenated_word_counts_both_lines(tmp_path):
    path = tmp_path / "delt.txt"
    path.write_text(
        "Innledning\n\nDet er behov for bedre sam-\nhandling mellom kommuner og sykehus.\n",
        encoding="utf-8",
    )
    assert cite(path, "samhandling mellom") == (3, 4)
    assert cite(path, "mellom kommuner") == (4, 4)
    check_every_sentence(path)


def test_blank_line_separated_lines(tmp_path):
    """PDF text as the corpus has it: a blank line after every printed line."""
    path = tmp_path / "pdftekst.txt"
    lines = [
        "Bakgrunn",
        "",
        "",
        "Helse Midt-Norge har hatt høyere utgifter til IKT enn andre regioner siden",
        "",
        "2018. Dette skyldes merkostnader til anskaffelse og innføring av Helseplattformen,",
        "",
        "parallelt med drift av eksisterende IKT-",
        "",
        "portefølje. Utgiftene er imidlertid på vei ned etter toppåret i 2022.",
        "",
    ]
    path.write_text("".join(line + " \n" for line in lines), encoding="utf-8")
    assert cite(path, "Dette skyldes") == (6, 6)
    assert cite(path, "eksisterende IKT-portefølje") == (8, 10)
    assert check_every_sentence(path) >= 3


def test_crlf_and_latin1(tmp_path):
    path = tmp_path / "gammel.txt"
    text = (
        "Første linje er en tittel\r\n\r\n"
        "Sykehusene i Trøndelag\r\nbruker én journal.\r\nSlutt på saken.\r\n"
    )
    path.write_bytes(text.encode("latin-1"))
    assert cite(path, "bruker én journal.") == (4, 4)
    assert cite(path, "Sykehusene i Trøndelag bruker") == (3, 4)
    assert decode_file_lines(path.read_bytes())[3] == "bruker én journal."
    check_every_sentence(path)


def test_lone_carriage_returns_end_lines(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes(b"Tittel\r\rEn setning her.\rEn annen setning.\r")
    assert cite(path, "En annen setning.") == (4, 4)


def test_quote_in_lines_is_not_fooled_by_neighbours():
    lines = ["Det er behov for bedre sam-", "handling mellom kommuner."]
    assert quote_in_lines("bedre samhandling mellom", lines)
    assert quote_in_lines("bedre sam-handling", lines)
    assert not quote_in_lines("bedre samhandling mellom", lines[:1])
    assert not quote_in_lines("kommuner og sykehus", lines)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.txt")))
def test_every_corpus_sentence_stands_in_its_cited_lines(name):
    assert check_every_sentence(CORPUS / name) > 10


def test_corpus_example_from_the_issue():
    """The issue's example: the cost line of file 001 is line 465, not the old 109."""
    path = CORPUS / "001_0fd81fc229b4ecf7.txt"
    first, last = cite(path, "7,8 prosent i 2022 til 6,5 prosent i 2024")
    raw = decode_file_lines(path.read_bytes())
    assert "7,8 prosent i 2022" in raw[first - 1]
    assert first == last
