"""Adding uploaded files to the corpus as one transaction: names made safe, sizes and
types checked, files written, ingest run, and every file put back as it was if ingest fails.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kilde.errors import KildeError
from kilde.ingest.readers import CATALOG_NAME, SUPPORTED

if TYPE_CHECKING:
    from kilde.index.build import IngestReport
from kilde.text import squash

MAX_UPLOAD_MB = 50


MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024


UPLOAD_TYPES = tuple(s.lstrip(".") for s in SUPPORTED)


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
    base = squash(base).strip(" .")
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
                result.failed.append(skip_message(line, report.skip_codes.get(rel)))
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


# What the UI says for each SkipFile.code (kilde.errors.SKIP_CODES).
_REASONS = {
    "unsupported": "filtypen støttes ikke",
    "missing": "filen finnes ikke",
    "password": "PDF-en er passordbeskyttet; lagre en kopi uten passord",
    "encryption": "PDF-en bruker en kryptering som ikke kan åpnes",
    "damaged_pdf": "ikke en lesbar PDF",
    "no_pages": "PDF-en har ingen sider",
    "scanned": "ingen tekst i noen av sidene (skannet dokument?)",
    "empty": "filen er tom",
    "no_text": "filen inneholder ingen tekst",
    "binary": "filen er ikke tekst; sjekk filtypen",
    "damaged_utf16": "skadet UTF-16-tekst; lagre den som UTF-8",
    "unreadable": "filen kan ikke leses",
    "damaged_docx": "ikke en lesbar Word-fil",
}


def skip_message(line: str, code: str | None = None) -> str:
    """A Norwegian line for an IngestReport.skipped line ("name: reason") and its code."""
    name, _, reason = line.partition(": ")
    if code in _REASONS:
        return f"«{name}» ble ikke lagt til: {_REASONS[code]}."
    return f"«{name}» ble ikke lagt til: {reason or line}"
