"""The Streamlit chat: layout and widgets only (the sidebar's in sidebar_panel, the CSS in
style); the logic is in launch, markup, views, export, sidebar (kilde.app) and uploads
(kilde.ingest), which run without Streamlit.

Started by ``kilde app`` as ``streamlit run app/ui.py -- --index DIR [--corpus DIR]``. Without
script arguments (AppTest, a bare ``streamlit run``) it reads KILDE_INDEX, KILDE_CORPUS and
KILDE_CONFIG, then kilde.toml and the defaults.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import streamlit as st

from kilde.answer.engine import Engine, QueryCache
from kilde.answer.llm import streaming
from kilde.app import export, launch, markup, views
from kilde.app import feedback as fb
from kilde.app.sidebar_panel import sidebar_documents, sidebar_feedback, sidebar_status
from kilde.app.sourcecheck_tab import show_sourcecheck
from kilde.app.style import STYLE
from kilde.errors import IndexMissingError, KildeError
from kilde.index.embedders import Embedder
from kilde.ingest import uploads
from kilde.types import REFUSAL_TEXT


def md(text: str) -> str:
    """A message that may hold file names or paths, as literal text for a Markdown element."""
    return markup.escape_markdown(text)


def script_args() -> launch.AppArgs:
    """Arguments after ``--`` when run by ``kilde app``; the environment otherwise."""
    own = sys.argv and Path(sys.argv[0]).resolve() == Path(__file__).resolve()
    return launch.parse_app_args(sys.argv[1:] if own else [], os.environ)


@st.cache_resource(show_spinner="Laster språkmodellen …")
def load_embedder(spec: str) -> Embedder:
    """The embedding model, shared by every engine and upload ingest of this process."""
    from kilde.index.embedders import load_embedder as load

    return load(spec)


@st.cache_resource(show_spinner="Åpner indeksen …", max_entries=2)
def load_engine(
    index_dir: str, config: str | None, generation: str | None, llm: tuple = ()
) -> Engine:
    """One Engine per index generation and server process (``generation`` keys the cache,
    so a new ingest, here or from the command line, is picked up). ``llm``: the LLM flags."""
    argv = ["--index", index_dir, *(["--config", config] if config else []), *llm]
    settings = launch.app_settings(launch.parse_app_args(argv, {}))
    status = launch.index_status_of(index_dir)
    spec = (status.embedder_spec if status else None) or settings.index.embedder
    return Engine.open(settings, embedder=QueryCache(load_embedder(spec)))


def main() -> None:
    st.set_page_config(page_title="kilde – spør dokumentene", page_icon="📄")
    st.markdown(STYLE, unsafe_allow_html=True)
    st.session_state.setdefault("turns", [])

    try:
        args = script_args()
        settings = launch.app_settings(args)
    except KildeError as exc:
        st.error(md(f"Feil i innstillingene: {exc}"))
        return
    index_dir = settings.index.location  # a folder, or a PostgreSQL URL

    st.title("kilde")
    st.caption("Spør i dokumentene. Svarene er sitater fra kildene, med side eller linje.")

    engine = None
    status = launch.index_status_of(index_dir)
    generation = status.generation if status else None
    st.session_state["feedback-index"] = index_dir
    st.session_state["feedback-generation"] = generation
    try:
        engine = load_engine(index_dir, args.config, generation, tuple(args.llm_flags()))
    except IndexMissingError:
        flag = "--store" if settings.index.store else "--index"
        st.error(
            f"Fant ingen indeks i `{index_dir}`. Bygg den med: "
            f"`kilde ingest {args.corpus_dir or settings.index.corpus_dir} {flag} {index_dir}`"
        )
    except KildeError as exc:
        st.error(md(str(exc)))

    filters = None
    with st.sidebar:
        if engine is not None:
            filters = sidebar_documents(engine)
            sidebar_status(engine)
            sidebar_feedback(index_dir)
        sidebar_upload(args, settings)

    nothing_ticked = engine is not None and filters is not None and not filters.files
    if nothing_ticked:
        st.warning("Velg minst ett dokument i sidepanelet for å stille spørsmål.")

    # on_change="rerun" tracks the open tab, so the chat box shows only with the chat.
    chat_tab, check_tab = st.tabs(
        ["Spør dokumentene", "Kildesjekk"], key="main-tabs", on_change="rerun"
    )
    with check_tab:
        show_sourcecheck(engine)

    question = None
    if not check_tab.open:
        question = st.chat_input(
            "Still et spørsmål om dokumentene",
            disabled=engine is None or nothing_ticked,
            max_chars=1000,
        )

    with chat_tab:
        for i, turn in enumerate(st.session_state["turns"]):
            show_turn(i, turn)

        if question and engine is not None and question.strip():
            ask(engine, question.strip(), filters)

        if st.session_state["turns"]:
            show_export(st.session_state["turns"])


def ask(engine: Engine, question: str, filters) -> None:
    turns = st.session_state["turns"]
    with st.chat_message("user"):
        st.markdown(views.question_html(question), unsafe_allow_html=True)
    history = [t.question for t in turns]
    try:
        with st.spinner("Leter i dokumentene …"), _llm_stream(engine):
            answer = engine.ask(question, history, filters)
    except KildeError as exc:
        st.error(md(str(exc)))
        return
    turn = views.make_turn(question, answer, engine.store.documents(), engine.store.page_text)
    turns.append(turn)
    # The generation that answered, for the feedback on this answer.
    st.session_state[f"fb-gen-{len(turns) - 1}"] = st.session_state.get("feedback-generation")
    show_answer(len(turns) - 1, turn)


def _llm_stream(engine: Engine):
    """While the LLM answerer's reply arrives, show it raw; it is checked once complete."""
    if engine.settings.answer.answerer != "llm":
        return contextlib.nullcontext()
    box = st.empty()
    pieces: list[str] = []

    def show(piece: str) -> None:
        pieces.append(piece)
        box.caption(
            "Språkmodellen skriver (sitatene sjekkes når svaret er ferdig): "
            + md("".join(pieces)[-600:])
        )

    return streaming(show)


def show_turn(i: int, turn: views.Turn) -> None:
    with st.chat_message("user"):
        st.markdown(views.question_html(turn.question), unsafe_allow_html=True)
    show_answer(i, turn)


def show_answer(i: int, turn: views.Turn) -> None:
    with st.chat_message("assistant"):
        if turn.answer.notice:
            st.info(turn.answer.notice)
        read_as = views.read_as(turn.answer)
        if read_as:
            st.caption(read_as)
        if turn.refused:  # our own fixed text, which may say why ("ask in Norwegian")
            st.markdown(turn.answer.answer or REFUSAL_TEXT)
            why = views.refusal_why(turn.answer)
            if why:
                st.caption(why)
            if turn.sources:
                st.caption("Nærmeste tekstbiter i dokumentene:")
        else:
            st.markdown(views.answer_html(turn.answer), unsafe_allow_html=True)
            st.markdown(markup.block("Kilder", "kilde-sources-head"), unsafe_allow_html=True)
        for source in turn.sources:
            show_source(i, source)
        feedback_row(i, turn)


def feedback_row(i: int, turn: views.Turn) -> None:
    """👍 / 👎 under an answer; 👎 opens a form for the right answer and a quote."""
    index_dir = st.session_state.get("feedback-index")
    state = st.session_state.get(f"fb-{i}")
    if not index_dir:
        return
    if state in (fb.UP, "sent"):
        st.caption("Takk for tilbakemeldingen!")
        return
    row = st.container(horizontal=True)
    if row.button("👍", key=f"fb-up-{i}", help="Svaret er riktig"):
        save_feedback(i, turn, fb.UP)
    if row.button("👎", key=f"fb-down-{i}", help="Svaret er feil eller mangler noe"):
        st.session_state[f"fb-{i}"] = fb.DOWN
        st.rerun()
    if state == fb.DOWN:
        with st.form(key=f"fb-form-{i}"):
            right = st.text_area("Riktig svar", key=f"fb-answer-{i}")
            quote = st.text_area(
                "Sitat fra kilden (lim inn teksten som viser svaret)", key=f"fb-quote-{i}"
            )
            if st.form_submit_button("Send tilbakemelding", key=f"fb-send-{i}"):
                save_feedback(i, turn, fb.DOWN, right, quote)


def save_feedback(i: int, turn: views.Turn, vote: str, right: str = "", quote: str = "") -> None:
    generation = st.session_state.get(f"fb-gen-{i}")
    record = fb.feedback_record(turn.answer, vote, generation, right, quote)
    try:
        fb.append_feedback(st.session_state["feedback-index"], record)
    except KildeError as exc:
        st.error(md(str(exc)))
        return
    st.session_state[f"fb-{i}"] = fb.UP if vote == fb.UP else "sent"
    st.rerun()  # the sidebar counts were drawn before this answer


def show_source(turn: int, source: views.SourceView) -> None:
    # The key gives the card a stable CSS class (st-key-kilde-source-...) for browser tests.
    with st.container(border=True, key=f"kilde-source-{turn}-{source.number}"):
        st.markdown(source.header_html(), unsafe_allow_html=True)
        st.markdown(source.snippet_html(), unsafe_allow_html=True)
        if source.ocr:
            st.caption(f"⚠ {views.OCR_MARK}", help=views.OCR_MARK_HELP)
        with st.expander("Vis hele tekstbiten"):
            st.markdown(source.passage_html(), unsafe_allow_html=True)
        if source.shows_page and st.toggle("Vis siden", key=f"kilde-page-{turn}-{source.number}"):
            show_page(source)
        st.code(source.reference, language=None, wrap_lines=True)


@st.cache_data(max_entries=32, show_spinner="Tegner siden …")
def page_png(pdf_path: str, page: int, quote: str) -> tuple[bytes, bool]:
    from kilde.app.pageview import render_page

    image = render_page(Path(pdf_path), page, quote)
    return image.png, image.found


def show_page(source: views.SourceView) -> None:
    """The cited PDF page as an image, with the quote marked (rendered only when asked)."""
    args = script_args()
    settings = launch.app_settings(args)
    status = launch.index_status_of(settings.index.location)
    corpus = launch.upload_corpus(args, settings, status)
    try:
        png, found = page_png(str(Path(corpus) / source.file), source.page, source.quote)
    except KildeError as exc:
        st.warning(md(str(exc)))
        return
    note = "Sitatet er markert med gult." if found else "Fant ikke sitatet på selve siden."
    st.image(png, caption=f"{source.title}, side {source.page}. {note}")


def show_export(turns: list) -> None:
    st.divider()
    row = st.container(horizontal=True)
    row.download_button(
        "Last ned samtalen (.md)",
        data=export.conversation_markdown(turns),
        file_name=export.MD_NAME,
        mime="text/markdown",
        on_click="ignore",
        key="export-md",
    )
    row.download_button(
        "Last ned samtalen (.docx)",
        data=export.conversation_docx(turns),
        file_name=export.DOCX_NAME,
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        on_click="ignore",
        key="export-docx",
    )
    if row.button("Ny samtale", key="new-conversation"):
        st.session_state["turns"] = []
        for key in [k for k in st.session_state if str(k).startswith("fb-")]:
            del st.session_state[key]
        st.rerun()


def sidebar_upload(args: launch.AppArgs, settings) -> None:
    st.header("Legg til dokumenter")
    result = st.session_state.pop("upload-result", None)
    if result is not None:
        show_upload_result(result)
    index_status = launch.index_status_of(settings.index.location)
    corpus_dir = launch.upload_corpus(args, settings, index_status)
    mismatch = launch.corpus_mismatch(corpus_dir, index_status)
    if mismatch:
        st.info(md(mismatch))
        return
    nonce = st.session_state.setdefault("upload-nonce", 0)
    files = st.file_uploader(
        f"PDF, TXT, MD eller DOCX, høyst {uploads.MAX_UPLOAD_MB} MB per fil",
        type=list(uploads.UPLOAD_TYPES),
        accept_multiple_files=True,
        key=f"upload-{nonce}",
    )
    if not files:
        return
    checks = uploads.check_uploads([(f.name, f.size) for f in files], corpus_dir)
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
    from kilde.ingest.ocr import OcrOptions

    spec = (index_status.embedder_spec if index_status else None) or settings.index.embedder
    size, overlap = launch.ingest_params(settings, index_status)
    with st.status("Legger til dokumentene …", expanded=True) as status:
        st.write(md(f"Lagrer {len(files)} fil(er) i {corpus_dir} …"))
        st.write("Leser, deler opp og embedder nye tekster; det kan ta et minutt …")
        try:
            result = uploads.add_documents(
                corpus_dir,
                files,
                lambda: ingest(
                    corpus_dir,
                    settings.index.location,  # a folder, or a PostgreSQL URL
                    load_embedder(spec),
                    ChunkingParams(size, overlap),
                    progress=False,
                    embedder_spec=spec,
                    ocr=OcrOptions.from_settings(settings.index),
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


def show_upload_result(result: uploads.UploadResult) -> None:
    if result.added:
        names = ", ".join(f"«{n}»" for n in result.added)
        st.success(md(f"Lagt til: {names}. Indeksen har nå {result.documents} dokumenter."))
    for line in result.failed:
        st.error(md(line))


main()
