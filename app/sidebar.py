"""The chat's sidebar as plain data: the documents with their filters, and the index status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kilde.index.interface import IndexStatus
from kilde.index.pg_schema import is_pg_url
from kilde.types import DocInfo, Filters

if TYPE_CHECKING:
    pass
from .markup import escape_html, stamp


@dataclass(frozen=True)
class DocRow:
    file: str
    title: str
    meta: str  # "Helsedirektoratet · 2025 · 12 sider"


def document_rows(docs: Mapping[str, DocInfo]) -> list[DocRow]:
    """The indexed documents, sorted by title."""
    rows = []
    for file, doc in docs.items():
        parts = [doc.publisher] if doc.publisher else []
        if doc.year:
            parts.append(str(doc.year))
        if doc.paged:
            parts.append(f"{doc.pages} side" if doc.pages == 1 else f"{doc.pages} sider")
        else:
            parts.append("tekst uten sidetall")
        rows.append(DocRow(file=file, title=doc.title, meta=" · ".join(parts)))
    return sorted(rows, key=lambda r: (r.title.casefold(), r.file))


def doc_checkbox_key(file: str) -> str:
    return f"doc:{file}"


def filters_for(selected: Sequence[str], all_files: Sequence[str]) -> Filters | None:
    """No restriction when every document is ticked; else only the ticked ones."""
    if set(selected) >= set(all_files):
        return None
    return Filters(files=tuple(sorted(selected)))


def index_status(status: IndexStatus) -> list[tuple]:
    """(label, value) rows for the sidebar."""
    name = status.embedder_spec or status.embedder_id or "ukjent"
    if status.embedder_dim:
        name = f"{name} ({status.embedder_dim} dim.)"
    created = status.created
    when = stamp(dt.datetime.fromtimestamp(created)) if created is not None else "ukjent"
    rows = [
        ("Dokumenter", str(status.documents)),
        ("Sider", str(status.pages)),
        ("Tekstbiter", str(status.chunks)),
        ("Embedder", name),
        ("Sist indeksert", when),
    ]
    if is_pg_url(status.location):  # a shared store: say which (its URL has no password)
        where = status.location.rpartition("@")[2]
        rows.insert(0, ("Lager", f"PostgreSQL {where}"))
    return rows


def status_html(rows: Sequence[tuple]) -> str:
    cells = "".join(
        f"<tr><td>{escape_html(label)}</td><td>{escape_html(value)}</td></tr>"
        for label, value in rows
    )
    return f'<table class="kilde-status">{cells}</table>'
