"""The «Kildesjekk» tab of the app: widgets only; checking is kilde.answer.sourcecheck and
marking and export are kilde.app.sourcecheck_view."""

from __future__ import annotations

import streamlit as st

from kilde.answer.sourcecheck import (
    MISMATCH,
    NOT_FOUND,
    STATUS_LABELS,
    SUPPORTED,
    DraftCheck,
    SourceChecker,
    docx_text,
)
from kilde.app import markup
from kilde.app import sourcecheck_view as view
from kilde.errors import KildeError

STYLE = """<style>
.kilde-draft p { line-height: 1.7; margin-bottom: 0.6rem; }
.kilde-stmt { padding: 0.05em 0.15em; border-radius: 3px; }
.kilde-ok { background: rgba(46, 160, 67, 0.16); }
.kilde-differs { background: rgba(230, 170, 0, 0.30); }
.kilde-missing { background: rgba(220, 53, 69, 0.16); text-decoration: underline wavy #c0392b; }
.kilde-check-status { font-weight: 600; }
</style>"""
RESULT = "sourcecheck-result"
ICONS = {SUPPORTED: "✓", MISMATCH: "⚠", NOT_FOUND: "✗"}


def show_sourcecheck(engine) -> None:
    """Paste or upload a draft, check it, and show it marked with the sources beside it."""
    st.markdown(STYLE, unsafe_allow_html=True)
    st.caption(
        "Lim inn eller last opp et utkast. Hvert utsagn får kilden sin, eller en advarsel "
        "når tallet avviker eller ingen kilde sier det."
    )
    pasted = st.text_area("Utkast", key="sourcecheck-text", height=180)
    upload = st.file_uploader(
        "… eller last opp utkastet (TXT, MD eller DOCX)",
        type=["txt", "md", "docx"],
        key="sourcecheck-upload",
    )
    if st.button("Sjekk kildene", type="primary", key="sourcecheck-run", disabled=engine is None):
        try:
            draft = _draft(pasted, upload)
            if not draft.strip():
                st.warning("Lim inn eller last opp et utkast først.")
            else:
                with st.spinner("Sjekker utsagnene mot dokumentene …"):
                    st.session_state[RESULT] = SourceChecker.from_engine(engine).check_draft(draft)
        except KildeError as exc:
            st.error(markup.escape_markdown(str(exc)))
    result: DraftCheck | None = st.session_state.get(RESULT)
    if result is not None:
        show_result(result)


def _draft(pasted: str, upload) -> str:
    if upload is None:
        return pasted
    data = upload.getvalue()
    if upload.name.lower().endswith(".docx"):
        return docx_text(data, upload.name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KildeError(f"{upload.name}: ikke UTF-8-tekst; lagre filen som UTF-8") from exc


def show_result(result: DraftCheck) -> None:
    counts = result.counts()
    st.markdown(
        f"**{len(result.statements)} utsagn:** {counts[SUPPORTED]} støttet, "
        f"{counts[MISMATCH]} med avvikende tall, {counts[NOT_FOUND]} ikke funnet."
    )
    st.markdown(view.marked_html(result), unsafe_allow_html=True)
    for n, check in enumerate(result.statements, start=1):
        with st.container(border=True, key=f"kilde-check-{n}"):
            left, right = st.columns(2)
            left.markdown(
                markup.block(
                    f"{ICONS[check.status]} {markup.escape_html(STATUS_LABELS[check.status])}",
                    "kilde-check-status",
                ),
                unsafe_allow_html=True,
            )
            left.markdown(
                markup.block(markup.escape_html(check.text), "kilde-check-text"),
                unsafe_allow_html=True,
            )
            if check.mismatches:
                right.warning(markup.escape_markdown(view.mismatch_note(check)))
            for citation in check.citations:
                right.markdown(
                    markup.block(markup.escape_html(f"«{citation.quote}»"), "kilde-passage"),
                    unsafe_allow_html=True,
                )
                right.code(citation.reference, language=None, wrap_lines=True)
            if check.status == NOT_FOUND:
                right.markdown("Fant ingen kilde i dokumentene som sier dette.")
    row = st.container(horizontal=True)
    row.download_button(
        "Last ned med kilder (.docx)",
        data=view.draft_docx(result),
        file_name=view.DOCX_NAME,
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        on_click="ignore",
        key="sourcecheck-docx",
    )
    row.download_button(
        "Last ned med kilder (.md)",
        data=view.draft_markdown(result),
        file_name=view.MD_NAME,
        mime="text/markdown",
        on_click="ignore",
        key="sourcecheck-md",
    )
