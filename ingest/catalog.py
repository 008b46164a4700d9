"""The corpus catalog: title, publisher and date of each file, from ``catalog.toml``.

The catalog sits in the corpus folder and is written by hand::

    [files."rapport.pdf"]
    title = "Helsepersonellundersøkelsen 2024"
    publisher = "Helsedirektoratet"
    date = "2025-03"          # "YYYY", "YYYY-MM" or "YYYY-MM-DD"

Files without an entry get the title the reader found (PDF metadata, first line) or their
file name, and no publisher or date.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kilde.errors import ConfigError
from kilde.types import DocInfo

from .readers import CATALOG_NAME, SourceText

_KEYS = ("title", "publisher", "date")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class CatalogEntry:
    title: str
    publisher: str | None = None
    date: str | None = None  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"


def load_catalog(corpus_dir: Path) -> dict[str, CatalogEntry]:
    """Entries of ``corpus_dir/catalog.toml`` by corpus-relative path; {} without a catalog."""
    path = Path(corpus_dir) / CATALOG_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: ikke UTF-8-tekst; lagre den som UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: ikke gyldig TOML ({exc}); rett filen") from exc

    unknown = sorted(set(data) - {"files"})
    if unknown:
        raise ConfigError(
            f'{path}: ukjent nøkkel "{unknown[0]}"; oppføringene står under [files."NAVN"]'
        )
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise ConfigError(f'{path}: "files" må være en tabell med [files."NAVN"]-oppføringer')
    return {name: _entry(path, name, fields) for name, fields in files.items()}


def doc_info(
    rel: str, source: SourceText, catalog: dict[str, CatalogEntry], sha256: str
) -> DocInfo:
    """What the index stores about ``rel``: the catalog's facts, else what the reader found."""
    entry = catalog.get(rel)
    if entry is not None:
        title, publisher, date = entry.title, entry.publisher, entry.date
    else:
        title, publisher, date = source.title_hint or PurePosixPath(rel).name, None, None
    return DocInfo(
        file=rel,
        title=title,
        publisher=publisher,
        date=date,
        pages=len(source.pages),
        paged=source.paged,
        sha256=sha256,
    )


def _entry(path: Path, name: str, fields: object) -> CatalogEntry:
    where = f'{path}: [files."{name}"]'
    if not isinstance(fields, dict):
        raise ConfigError(f"{where} må være en tabell med title, publisher og date")
    unknown = sorted(set(fields) - set(_KEYS))
    if unknown:
        raise ConfigError(f'{where}: ukjent nøkkel "{unknown[0]}"; bruk title, publisher, date')
    title = _text(where, "title", fields.get("title"))
    if title is None:
        raise ConfigError(f'{where}: "title" mangler; legg til title = "..."')
    publisher = _text(where, "publisher", fields.get("publisher"))
    return CatalogEntry(title=title, publisher=publisher, date=_date(where, fields.get("date")))


def _text(where: str, key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f'{where}: "{key}" må være en tekst i anførselstegn')
    value = " ".join(value.split())
    return value or None


def _date(where: str, value: object) -> str | None:
    """The date as "YYYY", "YYYY-MM" or "YYYY-MM-DD"; a bare TOML date or year also does."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        match = _DATE.match(text)
        if match and _valid(*match.groups()):
            return text
    raise ConfigError(f'{where}: "date" = {value!r} er ikke "ÅÅÅÅ", "ÅÅÅÅ-MM" eller "ÅÅÅÅ-MM-DD"')


def _valid(year: str, month: str | None, day: str | None) -> bool:
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return False
    return True
