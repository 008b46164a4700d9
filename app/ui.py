"""The Streamlit chat: layout and widgets only; the logic is in ui_logic.

Started by ``kilde app`` as ``streamlit run app/ui.py -- --index DIR [--corpus DIR]``. Without
script arguments (AppTest, a bare ``streamlit run``) it reads KILDE_INDEX, KILDE_CORPUS and
KILDE_CONFIG, then kilde.toml and the defaults.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from kilde.answer.engine import Engine, QueryCache
from kilde.app import ui_logic as ui
from kilde.errors import IndexMissingError, KildeError
from kilde.index.embedders import Embedder
from kilde.types import REFUSAL_TEXT

STYLE = """<style>
.kilde-answer { font-size: 1.05rem; line-height: 1.6; }
.kilde-marker { font-weight: 600; color: #1d4f91; white-space: nowrap; }
.kilde-where { color: #5c6470; font-size: 0.9em; }
.kilde-source-head { margin-bottom: 0.25rem; overflow-wrap: anywhere; }
.kilde-passage { font-size: 0.93rem; line-height: 1.55; padding: 0.5rem 0.75rem;
  border-left: 3px solid #c9a227; background: rgba(128, 128, 128, 0.07);
  border-radius: 0 4px 4px 0; overflow-wrap: anywhere; }
.kilde-passage mark { background: #ffe58a; color: inherit; padding: 0 0.1em; }
.kilde-doc-meta { color: #5c6470; font-size: 0.8rem; margin: -0.75rem 0 0.5rem 1.75rem; }
.kilde-status { font-size: 0.85rem; border: none; }
.kilde-status td { border: none; padding: 0.1rem 0.75rem 0.1rem 0; vertical-align: top; }
.kilde-status td:first-child { color: #5c6470; white-space: nowrap; }
.kilde-par { display: block; height: 0.45em; }
.kilde-sources-head { font-weight: 600; margin-top: 0.75rem; }
[data-testid="stChatMessage"], [class*="st-key-kilde-source-"] { scroll-margin-top: 4rem; }
/* A phone-wide window: no avatars and less padding, so the passages keep their width. */
@media (max-width: 640px) {
  [data-testid^="stChatMessageAvatar"] { display: none; }
  [data-testid="stChatMessage"] { padding-left: 0; padding-right: 0; gap: 0; }
  [class*="st-key-kilde-source-"] { padding: 0.6rem; }
  .kilde-passage { padding: 0.4rem 0.5rem; }
}
/* Streamlit's own uploader text is English; show it in Norwegian. */
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "Dra filer hit eller trykk «Velg filer»"; font-size: 0.8rem; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {
  font-size: 0; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "Velg filer"; font-size: 0.875rem; }
</style>"""


def md(text: str) -> str:
    """A message that may hold file names or paths, as literal text for a Markdown element."""
    return ui.escape_markdown(text)


def script_args() -> ui.AppArgs:
    """Arguments after ``--`` when run by ``kilde app``; the environment otherwise."""
    own = sys.argv and Path(sys.argv[0]).resolve() == Path(__file__).resolve()
    return ui.parse_app_args(sys.argv[1:] if own else [], os.environ)


@st.cache_resource(show_spinner="Laster språkmodellen …")
def load_embedder(spec: str) -> Embedder:
    """The embedding model, shared by every engine and upload ingest of this process."""
    from kilde.index.embedders import load_embedder as load

    return load(spec)


@st.cache_resource(show_spinner="Åpner indeksen …", max_entries=2)
def load_engine(index_dir: str, config: str | None, generation: str | None) -> Engine:
    """One Engine per index generation and server process (``generation`` keys the cache,
    so a new ingest, here or from the command line, is picked up)."""
    settings = ui.app_settings(ui.AppArgs(index_dir=index_dir, config=config))
    status = ui.index_status_of(index_dir)
    spec = (status.embedder_spec if status else None) or settings.index.embedder
    return Engine.open(settings, embedder=QueryCache(load_embedder(spec)))


def main() -> None:
    st.set_page_config(page_title="kilde – spør dokumentene", page_icon="📄")
    st.markdown(STYLE, unsafe_allow_html=True)
    st.session_state.setdefault("turns", [])

    try:
        args = script_args()
        settings = ui.app_settings(args)
    except KildeError as exc:
        st.error(md(f"Feil i innstillingene: {exc}"))
        return
    index_dir = settings.index.index_dir

    st.title("kilde")
    st.caption("Spør i dokumentene. Svarene er sitater fra kildene, med side eller linje.")

    engine = None
    try:
        status = ui.index_status_of(index_dir)
        engine = load_engine(index_dir, args.config, status.generation if status else None)
    except IndexMissingError:
        st.error(
            f"Fant ingen indeks i `{index_dir}`. Bygg den med: "
            f"`kilde ingest {args.corpus_dir or settings.index.corpus_dir} --index {index_dir}`"
        )
    except KildeError as exc:
        st.error(md(str(exc)))

    filters = None
    with st.sidebar:
        if engine is not None:
            filters = sidebar_documents(engine)
            sidebar_status(engine)
        sidebar_upload(args, settings)

    nothing_ticked = engine is not None and filters is not None and not filters.files
    if nothing_ticked:
        st.warning("Velg minst ett dokument i sidepanelet for å stille spørsmål.")

    question = st.chat_input(
        "Still et spørsmål om dokumentene",
        disabled=engine is None or nothing_ticked,
        max_chars=1000,
    )

    for i, turn in enumerate(st.session_state["turns"]):
        show_turn(i, turn)

    if question and engine is not None and question.strip():
        ask(engine, question.strip(), filters)

    if st.session_state["turns"]:
        show_export(st.session_state["turns"])


def ask(engine: Engine, question: str, filters) -> None:
    turns = st.session_state["turns"]
    with st.chat_message("user"):
        st.markdown(ui.question_html(question), unsafe_allow_html=True)
    history = [t.question for t in turns]
    try:
        with st.spinner("Leter i dokumentene …"):
            answer = engine.ask(question, history, filters)
    except KildeError as exc:
        st.error(md(str(exc)))
        return
    turn = ui.make_turn(question, answer, engine.store.documents(), engine.store.page_text)
    turns.append(turn)
    show_answer(len(turns) - 1, turn)


def show_turn(i: int, turn: ui.Turn) -> None:
    with st.chat_message("user"):
        st.markdown(ui.question_html(turn.question), unsafe_allow_html=True)
    show_answer(i, turn)


def show_answer(i: int, turn: ui.Turn) -> None:
    with st.chat_message("assistant"):
        if turn.refused:
            st.markdown(REFUSAL_TEXT)
            if turn.sources:
                st.caption("Nærmeste tekstbiter i dokumentene:")
        else:
            st.markdown(ui.answer_html(turn.answer), unsafe_allow_html=True)
            st.markdown(ui.block("Kilder", "kilde-sources-head"), unsafe_allow_html=True)
        for source in turn.sources:
            show_source(i, source)


def show_source(turn: int, source: ui.SourceView) -> None:
    # The key gives the card a stable CSS class (st-key-kilde-source-...) for browser tests.
    with st.container(border=True, key=f"kilde-source-{turn}-{source.number}"):
        st.markdown(source.header_html(), unsafe_allow_html=True)
        st.markdown(source.snippet_html(), unsafe_allow_html=True)
        with st.expander("Vis hele tekstbiten"):
            st.markdown(source.passage_html(), unsafe_allow_html=True)
        st.code(source.reference, language=None, wrap_lines=True)


def show_export(turns: list) -> None:
    st.divider()
    row = st.container(horizontal=True)
    row.download_button(
        "Last ned samtalen (.md)",
        data=ui.conversation_markdown(turns),
        file_name=ui.MD_NAME,
        mime="text/markdown",
        on_click="ignore",
        key="export-md",
    )
    row.download_button(
        "Last ned samtalen (.docx)",
        data=ui.conversation_docx(turns),
        file_name=ui.DOCX_NAME,
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        on_click="ignore",
        key="export-docx",
    )
    if row.button("Ny samtale", key="new-conversation"):
        st.session_state["turns"] = []
        st.rerun()


def sidebar_documents(engine: Engine):
    """Checkboxes per document; returns the Filters they make (None: no restriction)."""
    st.header("Dokumenter")
    rows = ui.document_rows(engine.store.documents())
    if not rows:
        st.info("Indeksen har ingen dokumenter ennå.")
        return None
    all_on, all_off = st.columns(2)
    if all_on.button("Velg alle", key="docs-all", width="stretch"):
        for row in rows:
            st.session_state[ui.doc_checkbox_key(row.file)] = True
    if all_off.button("Fjern alle", key="docs-none", width="stretch"):
        for row in rows:
            st.session_state[ui.doc_checkbox_key(row.file)] = False
    selected = []
    for row in rows:
        key = ui.doc_checkbox_key(row.file)
        st.session_state.setdefault(key, True)
        if st.checkbox(md(row.title), key=key, help=md(row.file)):
            selected.append(row.file)
        st.markdown(ui.block(ui.escape_html(row.meta), "kilde-doc-meta"), unsafe_allow_html=True)
    return ui.filters_for(selected, [r.file for r in rows])


def sidebar_status(engine: Engine) -> None:
    st.header("Indeks")
    rows = ui.index_status(engine.store.status())
    st.markdown(ui.status_html(rows), unsafe_allow_html=True)


def sidebar_upload(args: ui.AppArgs, settings) -> None:
    st.header("Legg til dokumenter")
    result = st.session_state.pop("upload-result", None)
    if result is not None:
        show_upload_result(result)
    index_status = ui.index_status_of(settings.index.index_dir)
    corpus_dir = ui.upload_corpus(args, settings, index_status)
    mismatch = ui.corpus_mismatch(corpus_dir, index_status)
    if mismatch:
        st.info(md(mismatch))
        return
    nonce = st.session_state.setdefault("upload-nonce", 0)
    files = st.file_uploader(
        f"PDF, TXT, MD eller DOCX, høyst {ui.MAX_UPLOAD_MB} MB per fil",
        type=list(ui.UPLOAD_TYPES),
        accept_multiple_files=True,
        key=f"upload-{nonce}",
    )
    if not files:
        return
    checks = ui.check_uploads([(f.name, f.size) for f in files], corpus_dir)
    for check in checks:
        if not check.ok:
            st.error(md(check.problem))
    ready = [(c, f) for c, f in zip(checks, files, strict=True) if c.ok]
    clashes = [c.name for c, _ in ready if c.exists]
    confirmed = True
    if clashes:
        st.warning(md("Finnes allerede i dokumentmappen: " + ", ".join(f"«{n}»" for n in clashes)))
        confirmed = st.checkbox("Erstatt de eksisterende filene", key=f"replace-{nonce}")
    if st.button(
        "Legg til i indeksen",
        type="primary",
        disabled=not ready or not confirmed,
        key=f"add-{nonce}",
    ):
        upload(
            [(c.name, f.getvalue()) for c, f in ready],
            corpus_dir,
            settings,
            index_status,
        )


def upload(files: list, corpus_dir: Path, settings, index_status) -> None:
    from kilde.index.build import ingest
    from kilde.ingest.chunk import ChunkingParams

    spec = (index_status.embedder_spec if index_status else None) or settings.index.embedder
    size, overlap = ui.ingest_params(settings, index_status)
    with st.status("Legger til dokumentene …", expanded=True) as status:
        st.write(md(f"Lagrer {len(files)} fil(er) i {corpus_dir} …"))
        st.write("Leser, deler opp og embedder nye tekster; det kan ta et minutt …")
        try:
            result = ui.add_documents(
                corpus_dir,
                files,
                lambda: ingest(
                    corpus_dir,
                    settings.index.index_dir,  # a folder, or a PostgreSQL URL
                    load_embedder(spec),
                    ChunkingParams(size, overlap),
                    progress=False,
                    embedder_spec=spec,
                ),
            )
        except KildeError as exc:
            status.update(label="Kunne ikke legge til dokumentene", state="error")
            st.error(md(str(exc)))
            return
        status.update(label="Ferdig", state="complete")
    load_engine.clear()
    st.session_state["upload-result"] = result
    st.session_state["upload-nonce"] += 1
    st.rerun()


def show_upload_result(result: ui.UploadResult) -> None:
    if result.added:
        names = ", ".join(f"«{n}»" for n in result.added)
        st.success(md(f"Lagt til: {names}. Indeksen har nå {result.documents} dokumenter."))
    for line in result.failed:
        st.error(md(line))


main()
