"""Read one source file (PDF, text, Markdown, Word) into cleaned pages.

Every way a file can be unreadable ends in ``SkipFile`` with one line that names the file and
says what to do, so ingest can report it and go on with the rest of the corpus.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kilde.errors import ConfigError, SkipFile
from kilde.text.headings import is_heading
from kilde.types import Page

from .clean import clean_text, clean_text_mapped, normalise_chars
from .ocr import PageOcr

SUPPORTED = (".pdf", ".txt", ".md", ".docx")
CATALOG_NAME = "catalog.toml"
TITLE_MAX = 150
_TITLE_SEARCH_LINES = 30  # a title stands near the top of the first page
# A text file with more control characters than this share is binary with a text name.
_CONTROL_SHARE_MAX = 0.01


@dataclass(frozen=True)
class SourceText:
    """The cleaned pages of one file and what the reader noticed on the way."""

    file: str
    pages: tuple[Page, ...]
    paged: bool  # False for a text with no page breaks (one Page with page=None)
    title_hint: str | None
    warnings: tuple[str, ...]


def iter_sources(corpus_dir: Path) -> list[Path]:
    """Supported files under ``corpus_dir``, recursively, sorted by relative path.

    Hidden files and folders, Word's lock files (``~$x.docx``) and the catalog are left out.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise ConfigError(f"dokumentmappen {corpus_dir} finnes ikke; oppgi en mappe med dokumenter")
    found = []
    for path in corpus_dir.rglob("*"):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts) or path.name.startswith("~$"):
            continue
        if path.name == CATALOG_NAME or path.suffix.lower() not in SUPPORTED:
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(corpus_dir).as_posix())


def read_source(path: Path, rel: str, ocr: PageOcr | None = None) -> SourceText:
    """Read ``path`` into cleaned pages; ``rel`` (corpus-relative, "/"-separated) names it.

    With ``ocr``, scanned PDF pages are OCR'd (see kilde.ingest.ocr); without, skipped."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise SkipFile(
            f"{rel}: filtypen støttes ikke; gjør den om til {', '.join(SUPPORTED)}", "unsupported"
        )
    if not path.is_file():
        raise SkipFile(f"{rel}: finnes ikke eller er ikke en fil; sjekk dokumentmappen", "missing")
    if suffix == ".pdf":
        return _read_pdf(path, rel, ocr)
    if suffix == ".docx":
        return _read_docx(path, rel)
    return _read_text(path, rel)


# --- PDF ---------------------------------------------------------------------------------


def _read_pdf(path: Path, rel: str, ocr: PageOcr | None) -> SourceText:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    with _quiet_pypdf():
        try:
            reader = PdfReader(path)
            if reader.is_encrypted:
                # An owner password alone only restricts editing; the empty user password
                # opens the file for reading.
                if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                    raise SkipFile(_password_message(rel), "password")
            n_pages = len(reader.pages)
        except SkipFile:
            raise
        except (FileNotDecryptedError, DependencyError, NotImplementedError) as exc:
            if isinstance(exc, FileNotDecryptedError):
                raise SkipFile(_password_message(rel), "password") from exc
            raise SkipFile(
                f"{rel}: PDF-en bruker en kryptering som ikke kan åpnes; "
                "lagre en kopi uten beskyttelse og kjør ingest igjen",
                "encryption",
            ) from exc
        except Exception as exc:  # pypdf raises many kinds of errors on damaged files
            raise SkipFile(_damaged_pdf_message(rel, _reason(exc)), "damaged_pdf") from exc
        if n_pages == 0:
            raise SkipFile(f"{rel}: PDF-en har ingen sider; sjekk filen", "no_pages")

        labels = _page_labels(reader, n_pages)
        texts: list[str | None] = []  # cleaned text layer per page; None: unreadable
        notes: list[str] = []
        broken = 0
        for i in range(n_pages):
            try:
                raw = reader.pages[i].extract_text() or ""
            except Exception as exc:  # one bad page should not cost the whole document
                broken += 1
                notes.append(f"{rel} s. {i + 1}: teksten kunne ikke leses ({_reason(exc)})")
                texts.append(None)
                continue
            texts.append(clean_text(raw))
        title = _pdf_title(reader)

    ocr_texts: dict[int, str] = {}
    if ocr is not None:
        # A page pypdf cannot read may still render, so it is OCR'd like a scan.
        todo = ocr.pages_to_ocr(path, [t or "" for t in texts])
        ocr_texts = {i: clean_text(raw) for i, raw in ocr.ocr_pages(path, rel, todo).items()}
    pages: list[Page] = []
    for i, layer in enumerate(texts):
        read = ocr_texts.get(i)
        if read:
            pages.append(Page(file=rel, page=i + 1, page_label=labels[i], text=read, ocr=True))
        elif layer:  # a few letters over a scan that OCR could not read are still kept
            pages.append(Page(file=rel, page=i + 1, page_label=labels[i], text=layer))
        elif i in ocr_texts:
            notes.append(f"{rel} s. {i + 1}: ingen tekst (skannet?), og OCR fant ingen heller")
        elif layer is not None:
            notes.append(f"{rel} s. {i + 1}: ingen tekst (skannet?); {_no_text_layer(ocr)}")

    if not pages and broken:
        raise SkipFile(_damaged_pdf_message(rel, "ingen side kunne leses"), "damaged_pdf")
    if not pages:
        if ocr_texts:
            raise SkipFile(
                f"{rel}: ingen tekst på noen av de {n_pages} sidene, og OCR leste ingen heller "
                "(blanke eller uleselige skannede sider?); sjekk filen",
                "scanned",
            )
        raise SkipFile(
            f"{rel}: ingen tekst på noen av de {n_pages} sidene; {_no_text_layer(ocr)}", "scanned"
        )
    # Without a metadata title, the first heading names the document (see README).
    title = title or _first_line(pages[0].text, ".pdf")
    return SourceText(rel, tuple(pages), True, title, tuple(notes))


def _no_text_layer(ocr: PageOcr | None) -> str:
    if ocr is None or ocr.options.mode == "off":
        return "OCR er slått av; sett ocr = auto for å lese skannede sider"
    return "siden ble ikke lest med OCR; se OCR-meldingen"


def _password_message(rel: str) -> str:
    return (
        f"{rel}: PDF-en er beskyttet med passord; lagre en kopi uten passord og kjør ingest igjen"
    )


def _damaged_pdf_message(rel: str, reason: str) -> str:
    return (
        f"{rel}: ikke en lesbar PDF ({reason}); åpne den og lagre den som PDF på nytt, "
        "og kjør ingest igjen"
    )


def _page_labels(reader, n_pages: int) -> list[str | None]:
    """Printed page labels ("iv", "12"); None where the PDF's label table is broken."""
    try:
        labels = list(reader.page_labels)
    except Exception:
        return [None] * n_pages
    if len(labels) != n_pages:
        return [None] * n_pages
    return [label or None for label in labels]


def _pdf_title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    if not isinstance(title, str):
        return None
    # Word's PDF export writes its window title ("Microsoft Word - notat.docx").
    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", title.strip())
    return _short_title(title)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's log lines and warnings about damaged files; errors still raise."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _reason(exc: Exception) -> str:
    message = " ".join(str(exc).split())[:80]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# --- plain text and Markdown ---------------------------------------------------------------


def _read_text(path: Path, rel: str) -> SourceText:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFile(
            f"{rel}: kan ikke leses ({exc.strerror}); sjekk tilgangen til filen", "unreadable"
        ) from exc
    text, encoding = _decode(data, rel)
    notes = []
    if encoding not in ("utf-8", "utf-16"):
        notes.append(f"{rel}: ikke UTF-8; lest som {encoding}")
    if not text.strip():
        raise SkipFile(f"{rel}: filen er tom; legg til tekst eller fjern den", "empty")

    paged = "\f" in text
    pages: list[Page] = []
    if paged:
        # A form feed is a page break, as pdftotext writes it; a trailing one ends the last
        # page. Empty pages keep their number so that later pages keep theirs.
        for i, part in enumerate(text.split("\f")):
            cleaned = clean_text(part)
            if cleaned:
                pages.append(Page(file=rel, page=i + 1, page_label=str(i + 1), text=cleaned))
    else:
        mapped = clean_text_mapped(text)
        if mapped.text:
            pages.append(Page(rel, None, None, mapped.text, line_map=mapped.line_map))
    if not pages:
        raise SkipFile(f"{rel}: filen har ingen tekst; legg til tekst eller fjern den", "no_text")
    title = _first_line(pages[0].text, path.suffix)
    return SourceText(rel, tuple(pages), paged, title, tuple(notes))


def decode_text(data: bytes, rel: str = "") -> str:
    """The text of a text file's bytes, decoded as ingest reads it."""
    return _decode(data, rel)[0]


def _decode(data: bytes, rel: str) -> tuple[str, str]:
    """The text of ``data`` and the encoding used: UTF-8, else cp1252, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Windows Notepad)
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise SkipFile(
                f"{rel}: skadet UTF-16-tekst; lagre den som UTF-8 og kjør ingest igjen",
                "damaged_utf16",
            ) from exc
    if b"\x00" in data:
        raise SkipFile(_binary_message(rel), "binary")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _control_share(text) > _CONTROL_SHARE_MAX:
            raise SkipFile(_binary_message(rel), "binary")
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise SkipFile(_binary_message(rel), "binary")  # unreachable: Latin-1 decodes any bytes


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(1 for ch in text if ch not in "\t\n\r\f" and unicodedata.category(ch) == "Cc")
    return controls / len(text)


def _binary_message(rel: str) -> str:
    return f"{rel}: binære data, ikke tekst; gi filen riktig filtype eller fjern den"


def _first_line(text: str, suffix: str) -> str | None:
    """The title at the top of the cleaned text (a title wrapped over lines is whole there):
    the first line if it has the shape of a heading, else the first heading below it, else
    the first line."""
    markdown = suffix.lower() == ".md"
    lines = [line.strip() for line in text.splitlines()[:_TITLE_SEARCH_LINES]]
    lines = [line.lstrip("#").strip() if markdown else line for line in lines if line]
    if not lines:
        return None
    if markdown or is_heading(lines[0], True, None):
        return _short_title(lines[0])
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        # PDF text loses the blank lines around a title, so every line here may stand alone.
        if is_heading(line, True, following):
            return _short_title(line)
    return _short_title(lines[0])


def _short_title(title: str) -> str | None:
    title = " ".join(title.split())
    if not title:
        return None
    if len(title) <= TITLE_MAX:
        return title
    cut = title[:TITLE_MAX].rsplit(" ", 1)[0]
    return cut + "…"


# --- Word --------------------------------------------------------------------------------


def _read_docx(path: Path, rel: str) -> SourceText:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [_table_row(row) for row in item.rows]
                rows = [row for row in rows if row]
                if rows:
                    blocks.append("\n".join(rows))
            else:
                line = _one_line(item.text)
                if line:
                    blocks.append(line)
        core_title = document.core_properties.title
    except Exception as exc:  # python-docx and zipfile raise many kinds on damaged files
        raise SkipFile(
            f"{rel}: ikke en lesbar Word-fil ({_reason(exc)}); åpne den og lagre den som .docx "
            "på nytt, og kjør ingest igjen",
            "damaged_docx",
        ) from exc
    if not blocks:
        raise SkipFile(
            f"{rel}: dokumentet har ingen tekst; legg til tekst eller fjern det", "no_text"
        )
    # Word paragraphs are real paragraphs, so they are not reflowed like PDF lines.
    text = "\n\n".join(blocks)
    title = _short_title(normalise_chars(core_title or "")) or _short_title(blocks[0])
    page = Page(file=rel, page=None, page_label=None, text=text)
    return SourceText(rel, (page,), False, title, ())


def _table_row(row) -> str:
    """One table row as one line, cells joined by " | "; merged cells counted once."""
    cells = []
    seen: list = []  # the cells' XML elements; a merged cell repeats the same element
    for cell in row.cells:
        if any(cell._tc is tc for tc in seen):
            continue
        seen.append(cell._tc)
        text = _one_line(cell.text)
        if text:
            cells.append(text)
    return " | ".join(cells)


def _one_line(text: str) -> str:
    return " ".join(normalise_chars(text).split())
