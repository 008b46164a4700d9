"""What the Streamlit chat needs, as plain functions that run and test without Streamlit.

Document text is untrusted. Everything that reaches ``st.markdown(..., unsafe_allow_html=True)``
is built here from ``escape_html``: HTML-escaped, markdown-active characters turned into
numeric entities, newlines into ``<br>``, and wrapped in one ``<div>`` on one line, so that
Markdown sees a raw HTML block and parses nothing inside it. Only the ``<mark>``, ``<span>``
and ``<div>`` tags written here are live HTML.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kilde.answer.cite import reference as chunk_reference
from kilde.config import Settings, load_settings
from kilde.errors import KildeError
from kilde.index.interface import IndexStatus
from kilde.index.pg_schema import is_pg_url
from kilde.index.store import read_status
from kilde.ingest.readers import CATALOG_NAME, SUPPORTED
from kilde.text import locate, location_label
from kilde.types import REFUSAL_TEXT, Answer, Chunk, Citation, DocInfo, Filters

if TYPE_CHECKING:
    from kilde.index.build import IngestReport

MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
UPLOAD_TYPES = tuple(s.lstrip(".") for s in SUPPORTED)
SNIPPET_CONTEXT = 240  # characters shown on each side of a quote in the sources panel
PAGE_WINDOW = 700  # characters of page text around a quote when no retrieved chunk holds it
NEAREST_SHOWN = 3  # passages offered under a refusal
MD_NAME = "kilde-samtale.md"
DOCX_NAME = "kilde-samtale.docx"

# ---------------------------------------------------------------------------------------------
# Settings for the script: `streamlit run app/ui.py -- --index DIR`, or environment variables.


@dataclass(frozen=True)
class AppArgs:
    index_dir: str | None = None
    corpus_dir: str | None = None
    config: str | None = None


ENV_INDEX, ENV_CORPUS, ENV_CONFIG = "KILDE_INDEX", "KILDE_CORPUS", "KILDE_CONFIG"


def parse_app_args(argv: Sequence[str], environ: Mapping[str, str]) -> AppArgs:
    """Script arguments first, then KILDE_INDEX / KILDE_CORPUS / KILDE_CONFIG."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--index")
    parser.add_argument("--corpus")
    parser.add_argument("--config")
    ns, _ = parser.parse_known_args(list(argv))
    return AppArgs(
        index_dir=ns.index or environ.get(ENV_INDEX) or None,
        corpus_dir=ns.corpus or environ.get(ENV_CORPUS) or None,
        config=ns.config or environ.get(ENV_CONFIG) or None,
    )


def app_settings(args: AppArgs) -> Settings:
    return load_settings(
        Path(args.config) if args.config else None,
        index_dir=args.index_dir,
        corpus_dir=args.corpus_dir,
    )


def streamlit_command(
    python: str,
    ui_path: Path,
    port: int,
    index_dir: str,
    corpus_dir: str | None = None,
    config: str | None = None,
) -> list[str]:
    """The ``python -m streamlit run`` command line that ``kilde app`` executes."""
    command = [
        python,
        "-m",
        "streamlit",
        "run",
        str(ui_path),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.maxUploadSize",
        str(MAX_UPLOAD_MB),
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--",
        "--index",
        index_dir if is_pg_url(index_dir) else str(Path(index_dir).resolve()),
    ]
    if corpus_dir:
        command += ["--corpus", str(Path(corpus_dir).resolve())]
    if config:
        command += ["--config", str(Path(config).resolve())]
    return command


def index_status_of(index_dir: str | Path) -> IndexStatus | None:
    """The live index's status (its generation changes whenever an ingest publishes), or
    None when there is no index."""
    if is_pg_url(index_dir):  # a PostgreSQL store (the app was started with --store)
        from kilde.index.pg_store import status_of

        return status_of(str(index_dir))
    return read_status(Path(index_dir))


def upload_corpus(args: AppArgs, settings: Settings, status: IndexStatus | None) -> Path:
    """Where uploads go: the --corpus given, else the folder the index was built from."""
    if args.corpus_dir:
        return Path(args.corpus_dir)
    if status and status.corpus_dir:
        return Path(status.corpus_dir)
    return Path(settings.index.corpus_dir)


def corpus_mismatch(corpus_dir: Path, status: IndexStatus | None) -> str | None:
    """A warning when uploads would re-ingest another folder than the index was built from
    (that ingest would drop every document not in it)."""
    built_from = status.corpus_dir if status else None
    if built_from and Path(built_from).resolve() != Path(corpus_dir).resolve():
        return (
            f"Indeksen er bygget fra {built_from}, ikke {corpus_dir}. Opplasting er slått av; "
            f"start med --corpus {built_from} for å legge til dokumenter."
        )
    return None


# ---------------------------------------------------------------------------------------------
# Escaping and highlighting.

# Characters that Markdown, GFM, math, emoji shortcodes or Streamlit's directives treat
# specially; as numeric entities they are plain text to every one of them.
_MD_ACTIVE = "\\`*_[](){}#!|~$:^=+-"
_MD_TABLE = {ord(c): f"&#{ord(c)};" for c in _MD_ACTIVE}
_WS = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)+")


def escape_html(text: str) -> str:
    """``text`` as inert HTML on one line: escaped, markdown-neutral, newlines as <br>."""
    escaped = html.escape(text, quote=True).translate(_MD_TABLE)
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n")
    escaped = _BLANK_LINES.sub('<span class="kilde-par"></span>', escaped)
    return escaped.replace("\n", "<br>")


def escape_markdown(text: str) -> str:
    """``text`` for a widget label (Markdown, no HTML): active characters backslash-escaped."""
    text = _WS.sub(" ", text).strip()
    return re.sub(r"([\\`*_\[\](){}#!|~$<>+\-.:^=])", r"\\\1", text)


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text``, whitespace aside (quotes are whitespace-squashed)."""
    return locate(text, quote)


def highlight_html(text: str, span: tuple[int, int] | None) -> str:
    """Escaped ``text`` with ``text[span]`` wrapped in <mark>."""
    if span is None:
        return escape_html(text)
    start, end = span
    return (
        escape_html(text[:start])
        + "<mark>"
        + escape_html(text[start:end])
        + "</mark>"
        + escape_html(text[end:])
    )


def block(inner_html: str, css_class: str) -> str:
    """One raw-HTML block for st.markdown: a div on a single line."""
    return f'<div class="{css_class}">{inner_html}</div>'


@dataclass(frozen=True)
class Passage:
    """A stretch of source text and where the quote stands in it."""

    text: str
    span: tuple[int, int] | None

    def snippet(self, context: int = SNIPPET_CONTEXT) -> Passage:
        """The quote with up to ``context`` characters each side, cut at spaces."""
        text = self.text
        if self.span is None:
            if len(text) <= 2 * context:
                return self
            cut = text.rfind(" ", 0, 2 * context)
            return Passage(text[: cut if cut > 0 else 2 * context].rstrip() + " …", None)
        start, end = self.span
        lo, hi = max(0, start - context), min(len(text), end + context)
        if lo > 0:
            space = text.find(" ", lo, start)
            lo = space + 1 if space != -1 else lo
        if hi < len(text):
            space = text.rfind(" ", end, hi)
            hi = space if space != -1 else hi
        while lo < start and text[lo].isspace():
            lo += 1
        while hi > end and text[hi - 1].isspace():
            hi -= 1
        head = "… " if lo > 0 else ""
        tail = " …" if hi < len(text) else ""
        shift = len(head) - lo
        return Passage(head + text[lo:hi] + tail, (start + shift, end + shift))

    def html(self) -> str:
        return highlight_html(self.text, self.span)


def find_passage(citation: Citation, answer: Answer, page_text: str | None) -> Passage:
    """The retrieved chunk of the cited file and page that holds the quote; else the page
    text around the quote; else the quote alone."""
    for hit in answer.retrieved:
        chunk = hit.chunk
        if chunk.file == citation.file and chunk.page == citation.page:
            span = find_quote(chunk.text, citation.quote)
            if span:
                return Passage(chunk.text, span)
    if page_text:
        span = find_quote(page_text, citation.quote)
        if span:
            lo = max(0, span[0] - PAGE_WINDOW)
            hi = min(len(page_text), span[1] + PAGE_WINDOW)
            return Passage(page_text[lo:hi], (span[0] - lo, span[1] - lo))
    return Passage(citation.quote, (0, len(citation.quote)))


# ---------------------------------------------------------------------------------------------
# What the chat shows for one turn, computed once when the question is answered.


def where_citation(citation: Citation) -> str:
    """``s. 14``, or for a text without pages ``linje 12–14 · under «Overskrift»``."""
    return _where(
        citation.page, citation.page_label, citation.line_start, citation.line_end, citation.heading
    )


def where_chunk(chunk: Chunk) -> str:
    return _where(chunk.page, chunk.page_label, chunk.line_start, chunk.line_end, chunk.heading)


def _where(page, page_label, first, last, heading) -> str:
    parts = [location_label(page, page_label, first, last)]
    if page is None and heading:
        parts.append(f"under «{heading}»")
    return " · ".join(p for p in parts if p) or "uten sidetall"


@dataclass(frozen=True)
class SourceView:
    """One entry of the sources panel (a citation, or a nearest passage under a refusal)."""

    number: int
    title: str
    where: str
    reference: str
    quote: str
    passage: Passage

    def header_html(self) -> str:
        return block(
            f'<span class="kilde-marker">[{self.number}]</span> '
            f"<strong>{escape_html(self.title)}</strong>"
            f' <span class="kilde-where">{escape_html(self.where)}</span>',
            "kilde-source-head",
        )

    def snippet_html(self) -> str:
        return block(self.passage.snippet().html(), "kilde-passage")

    def passage_html(self) -> str:
        return block(self.passage.html(), "kilde-passage kilde-full")


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer
    sources: tuple[SourceView, ...] = field(default=())

    @property
    def refused(self) -> bool:
        return self.answer.refused


def make_turn(
    question: str,
    answer: Answer,
    docs: Mapping[str, DocInfo],
    page_text: Callable[[str, int | None], str | None],
) -> Turn:
    """A turn with its sources resolved. ``page_text(file, page)`` reads the index."""
    if answer.refused:
        sources = tuple(
            _nearest_view(n, hit.chunk, docs.get(hit.chunk.file))
            for n, hit in enumerate(answer.retrieved[:NEAREST_SHOWN], start=1)
        )
    else:
        sources = tuple(
            SourceView(
                number=n,
                title=c.title,
                where=where_citation(c),
                reference=c.reference,
                quote=c.quote,
                passage=find_passage(c, answer, page_text(c.file, c.page)),
            )
            for n, c in enumerate(answer.citations, start=1)
        )
    return Turn(question=question, answer=answer, sources=sources)


def _nearest_view(number: int, chunk: Chunk, doc: DocInfo | None) -> SourceView:
    return SourceView(
        number=number,
        title=doc.title if doc else chunk.title,
        where=where_chunk(chunk),
        reference=chunk_reference(doc, chunk, None, chunk.heading),
        quote="",
        passage=Passage(chunk.text, None),
    )


def answer_html(answer: Answer) -> str:
    """The answer's sentences, each followed by its citation marker [n]."""
    if answer.refused or not answer.sentences:
        return block(escape_html(answer.answer or REFUSAL_TEXT), "kilde-answer")
    parts = [
        f'{escape_html(s.text)} <span class="kilde-marker">[{s.citation + 1}]</span>'
        for s in answer.sentences
    ]
    return block(" ".join(parts), "kilde-answer")


def question_html(question: str) -> str:
    return block(escape_html(question), "kilde-question")


def answer_plain(answer: Answer) -> str:
    if answer.refused or not answer.sentences:
        return answer.answer or REFUSAL_TEXT
    return " ".join(f"{s.text} [{s.citation + 1}]" for s in answer.sentences)


# ---------------------------------------------------------------------------------------------
# Export of the conversation.


def _stamp(now: dt.datetime) -> str:
    return now.strftime("%d.%m.%Y kl. %H:%M")


def conversation_markdown(turns: Sequence[Turn], now: dt.datetime | None = None) -> str:
    """Questions, answers with [n] markers, and the references, as a Markdown document."""
    now = now or dt.datetime.now()
    lines = ["# Samtale med kilde", "", f"Eksportert {_stamp(now)}.", ""]
    for i, turn in enumerate(turns, start=1):
        lines += [f"## {i}. {_one_line(turn.question)}", "", answer_plain(turn.answer), ""]
        if turn.sources:
            lines += ["**Nærmeste tekstbiter:**" if turn.refused else "**Kilder:**", ""]
            for s in turn.sources:
                lines.append(f"[{s.number}] {s.reference}  ")
                if s.quote:
                    lines.append(f"«{s.quote}»")
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def conversation_docx(turns: Sequence[Turn], now: dt.datetime | None = None) -> bytes:
    """The same conversation as a Word document."""
    from docx import Document

    now = now or dt.datetime.now()
    document = Document()
    document.add_heading("Samtale med kilde", level=1)
    document.add_paragraph(f"Eksportert {_stamp(now)}.")
    for i, turn in enumerate(turns, start=1):
        document.add_heading(f"{i}. {_one_line(turn.question)}", level=2)
        document.add_paragraph(answer_plain(turn.answer))
        if turn.sources:
            document.add_paragraph("Nærmeste tekstbiter:" if turn.refused else "Kilder:")
            for s in turn.sources:
                paragraph = document.add_paragraph(f"[{s.number}] {s.reference}")
                if s.quote:
                    paragraph.add_run(f"\n«{s.quote}»").italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _one_line(text: str) -> str:
    return _WS.sub(" ", text).strip()


# ---------------------------------------------------------------------------------------------
# Sidebar: documents, filter and index status.


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
    when = _stamp(dt.datetime.fromtimestamp(created)) if created is not None else "ukjent"
    return [
        ("Dokumenter", str(status.documents)),
        ("Sider", str(status.pages)),
        ("Tekstbiter", str(status.chunks)),
        ("Embedder", name),
        ("Sist indeksert", when),
    ]


def status_html(rows: Sequence[tuple]) -> str:
    cells = "".join(
        f"<tr><td>{escape_html(label)}</td><td>{escape_html(value)}</td></tr>"
        for label, value in rows
    )
    return f'<table class="kilde-status">{cells}</table>'


# ---------------------------------------------------------------------------------------------
# Uploads.

_UNSAFE_CHARS = re.compile(r"[^\w .()\-]+")


class UploadRejected(KildeError):
    """An uploaded file name or size that cannot be accepted (message in Norwegian)."""


def safe_upload_name(name: str) -> str:
    """A plain file name for the corpus folder, or UploadRejected.

    Directories are stripped (a browser may send a path); ``..`` anywhere is refused, as are
    hidden names and suffixes other than PDF, TXT, MD and DOCX.
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    parts = [p for p in PurePosixPath(name).parts if p not in ("/", "")]
    if any(p.strip() == ".." for p in parts):
        raise UploadRejected(f"«{name}»: filnavnet peker ut av dokumentmappen og ble avvist.")
    base = parts[-1].strip() if parts else ""
    if not base or base.startswith("."):  # empty, or hidden
        raise UploadRejected(f"«{name}»: ugyldig filnavn.")
    base = _UNSAFE_CHARS.sub("_", base)
    base = _WS.sub(" ", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip(" ._"):
        raise UploadRejected(f"«{name}»: filnavnet mangler filtype (PDF, TXT, MD eller DOCX).")
    suffix = suffix.lower()
    if f".{suffix}" not in SUPPORTED:
        raise UploadRejected(
            f"«{name}»: filtypen .{suffix} støttes ikke; bruk PDF, TXT, MD eller DOCX."
        )
    stem = stem[:120].rstrip(" .")
    safe = f"{stem}.{suffix}"
    if safe.lower() == CATALOG_NAME:
        raise UploadRejected(f"«{name}»: ugyldig filnavn.")
    return safe


@dataclass(frozen=True)
class UploadCheck:
    original: str
    name: str | None  # the safe name, None when rejected
    size: int
    problem: str | None = None  # why it is rejected (Norwegian)
    exists: bool = False  # a file of that name is in the corpus folder already

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_uploads(files: Sequence[tuple[str, int]], corpus_dir: Path) -> list[UploadCheck]:
    """Name, size and clash checks for (name, size) pairs, in order."""
    checks: list[UploadCheck] = []
    seen: set[str] = set()
    for original, size in files:
        try:
            name = safe_upload_name(original)
        except UploadRejected as exc:
            checks.append(UploadCheck(original, None, size, str(exc)))
            continue
        if size > MAX_UPLOAD_BYTES:
            problem = f"«{original}» er {size / 1024 / 1024:.0f} MB; grensen er {MAX_UPLOAD_MB} MB."
            checks.append(UploadCheck(original, None, size, problem))
            continue
        if size == 0:
            checks.append(UploadCheck(original, None, size, f"«{original}» er tom."))
            continue
        if name.casefold() in seen:
            checks.append(UploadCheck(original, None, size, f"«{original}» er valgt to ganger."))
            continue
        seen.add(name.casefold())
        exists = (Path(corpus_dir) / name).exists()
        checks.append(UploadCheck(original, name, size, None, exists))
    return checks


@dataclass
class UploadResult:
    added: list[str] = field(default_factory=list)  # safe names now in the index
    failed: list[str] = field(default_factory=list)  # Norwegian lines, one per bad file
    warnings: list[str] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0


_REASONS = (
    ("unsupported file type", "filtypen støttes ikke"),
    ("encrypted with a user password", "PDF-en er passordbeskyttet; lagre en kopi uten passord"),
    ("uses an encryption", "PDF-en bruker en kryptering som ikke kan åpnes"),
    ("not a readable PDF", "ikke en lesbar PDF"),
    ("the PDF has no pages", "PDF-en har ingen sider"),
    ("no text in any of its", "ingen tekst i noen av sidene (skannet dokument?)"),
    ("the file is empty", "filen er tom"),
    ("the file has no text", "filen inneholder ingen tekst"),
    ("no text to index", "ingen tekst å indeksere"),
    ("binary data", "filen er ikke tekst; sjekk filtypen"),
    ("damaged UTF-16", "skadet UTF-16-tekst; lagre den som UTF-8"),
    ("cannot be read", "filen kan ikke leses"),
)


def skip_message(line: str) -> str:
    """A Norwegian line for an IngestReport.skipped line ("name: reason")."""
    name, _, reason = line.partition(": ")
    for english, norwegian in _REASONS:
        if english in reason:
            return f"«{name}» ble ikke lagt til: {norwegian}."
    return f"«{name}» ble ikke lagt til: {reason or line}"


def add_documents(
    corpus_dir: Path,
    files: Sequence[tuple[str, bytes]],
    ingest_fn: Callable[[], IngestReport],
) -> UploadResult:
    """Save (safe name, content) pairs into ``corpus_dir`` and run ``ingest_fn()`` (an
    incremental ingest returning an IngestReport).

    A file ingest skips is taken out again (an overwritten file gets its old content back),
    so the corpus folder keeps matching the index. If the ingest fails, every file is put
    back as it was and the error is raised; the live index is untouched then.
    """
    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    backup_dir = Path(tempfile.mkdtemp(prefix=".kilde-upload-", dir=corpus_dir))
    saved: dict[str, Path | None] = {}  # name -> backup of the file it replaced
    try:
        for name, content in files:
            if name != safe_upload_name(name):
                raise UploadRejected(f"«{name}»: ugyldig filnavn.")
            target = corpus_dir / name
            backup = None
            if target.exists():
                backup = backup_dir / name
                shutil.copy2(target, backup)
            partial = backup_dir / f"{name}.part"
            partial.write_bytes(content)
            os.replace(partial, target)
            saved[name] = backup
        try:
            report = ingest_fn()
        except BaseException:
            _restore(corpus_dir, saved, list(saved))
            raise
        result = UploadResult(documents=report.documents, chunks=report.chunks)
        bad = set()
        for line in report.skipped:
            rel = line.partition(": ")[0]
            if rel in saved:
                bad.add(rel)
                result.failed.append(skip_message(line))
        _restore(corpus_dir, saved, sorted(bad))
        result.added = [name for name in saved if name not in bad]
        result.warnings = [w for w in report.warnings if w.partition(":")[0] in saved]
        return result
    finally:
        shutil.rmtree(backup_dir, ignore_errors=True)


def _restore(corpus_dir: Path, saved: Mapping[str, Path | None], names: Sequence[str]) -> None:
    for name in names:
        backup = saved[name]
        target = corpus_dir / name
        if backup is None:
            target.unlink(missing_ok=True)
        else:
            os.replace(backup, target)


def ingest_params(settings: Settings, status: IndexStatus | None) -> tuple[int, int]:
    """Chunk size and overlap for an upload: the index's own, so unchanged files are not
    re-embedded; the settings' for a new index."""
    chunking = status.chunking if status else {}
    return (
        int(chunking.get("chunk_size", settings.index.chunk_size)),
        int(chunking.get("chunk_overlap", settings.index.chunk_overlap)),
    )
