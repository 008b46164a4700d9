"""The sidebar's widgets: the documents with their filters, the index status and the feedback
counts (the data behind them is kilde.app.sidebar)."""

from __future__ import annotations

import streamlit as st

from kilde.answer.engine import Engine
from kilde.app import feedback as fb
from kilde.app import markup, sidebar
from kilde.types import Filters


def sidebar_documents(engine: Engine) -> Filters | None:
    """Checkboxes per document; returns the Filters they make (None: no restriction)."""
    st.header("Dokumenter")
    rows = sidebar.document_rows(engine.store.documents())
    if not rows:
        st.info("Indeksen har ingen dokumenter ennå.")
        return None
    all_on, all_off = st.columns(2)
    if all_on.button("Velg alle", key="docs-all", width="stretch"):
        for row in rows:
            st.session_state[sidebar.doc_checkbox_key(row.file)] = True
    if all_off.button("Fjern alle", key="docs-none", width="stretch"):
        for row in rows:
            st.session_state[sidebar.doc_checkbox_key(row.file)] = False
    selected = []
    for row in rows:
        key = sidebar.doc_checkbox_key(row.file)
        st.session_state.setdefault(key, True)
        if st.checkbox(
            markup.escape_markdown(row.title), key=key, help=markup.escape_markdown(row.file)
        ):
            selected.append(row.file)
        st.markdown(
            markup.block(markup.escape_html(row.meta), "kilde-doc-meta"), unsafe_allow_html=True
        )
    return sidebar.filters_for(selected, [r.file for r in rows])


def sidebar_status(engine: Engine) -> None:
    st.header("Indeks")
    rows = sidebar.index_status(engine.store.status())
    st.markdown(sidebar.status_html(rows), unsafe_allow_html=True)


def sidebar_feedback(index_dir: str) -> None:
    counts = fb.feedback_counts(index_dir)
    st.caption(
        f"Tilbakemeldinger: 👍 {counts[fb.UP]} · 👎 {counts[fb.DOWN]} "
        f"({counts['corrected']} med riktig svar)"
    )
