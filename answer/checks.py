"""Checks on a question and its filters before any search, so that a mistake is named as a
mistake and never reads as "not in the documents".

Each check raises a KildeError with one Norwegian line, or returns what to search with:
filters resolved to the names the index uses (a publisher in any case, a document given with
the corpus folder in front).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Mapping

from kilde.errors import IndexEmptyError, UsageError
from kilde.text.lexicon import ENGLISH_WORDS, NORWEGIAN_MARKERS
from kilde.types import DocInfo, Filters

MAX_QUESTION_CHARS = 2000
_WORD = re.compile(r"[^\W\d_]{2,}")


def check_question(question: str) -> str:
    """The question stripped; an error for an empty or overlong one."""
    text = question.strip()
    if not text:
        raise UsageError("Skriv et spørsmål.")
    if len(text) > MAX_QUESTION_CHARS:
        raise UsageError(
            f"Spørsmålet er {len(text)} tegn langt; korte det ned til høyst "
            f"{MAX_QUESTION_CHARS} tegn, gjerne til én setning."
        )
    return text


def looks_foreign(question: str, vocabulary: Callable[[], Container[str]]) -> bool:
    """True for a question that is not Norwegian: no Norwegian word in it, and English words
    in it or no word of the documents (``vocabulary()``: lower-case words of the indexed
    text, only built when needed).
    """
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False  # figures or an abbreviation alone: let the search decide
    if any(
        (w in NORWEGIAN_MARKERS and w not in ENGLISH_WORDS) or re.search("[æøå]", w) for w in words
    ):
        return False
    if any(w in ENGLISH_WORDS for w in words):
        return True
    known = vocabulary()
    return not any(w in known for w in words)


def words_of(texts: Iterable[str]) -> frozenset[str]:
    """The lower-case words of ``texts``, as ``looks_foreign`` compares them."""
    return frozenset(w.lower() for text in texts for w in _WORD.findall(text))


FOREIGN_HINT = (
    "Spørsmålet ser ikke ut til å være på norsk, og dokumentene er på norsk. "
    "Still spørsmålet på norsk, så søker jeg i dem."
)


def check_index(docs: Mapping[str, DocInfo], n_chunks: int, index_dir: str) -> None:
    if not docs or n_chunks == 0:
        raise IndexEmptyError(
            f"Indeksen er tom – kjør kilde ingest MAPPE --index {index_dir} med en mappe "
            "som har dokumenter."
        )


def resolve_filters(filters: Filters | None, docs: Mapping[str, DocInfo]) -> Filters | None:
    """``filters`` with documents and publishers as the index names them; an error naming an
    unknown document, publisher or year, or a combination that leaves no documents."""
    if filters is None or filters.is_empty():
        return filters
    files = tuple(_resolve_file(name, docs) for name in filters.files)
    publishers = tuple(_resolve_publisher(name, docs) for name in filters.publishers)
    _check_years(filters.year_from, filters.year_to, docs)
    resolved = Filters(files, publishers, filters.year_from, filters.year_to)
    if not any(_passes(doc, resolved) for doc in docs.values()):
        raise UsageError(
            f"Ingen dokumenter passer alle filtrene sammen ({_describe(resolved)}); "
            "fjern ett av dem."
        )
    return resolved


def _resolve_file(name: str, docs: Mapping[str, DocInfo]) -> str:
    given = name.strip().replace("\\", "/").lstrip("./")
    if given in docs:
        return given
    # "corpus/003_x.txt" or "/home/me/corpus/003_x.txt": the corpus-relative name at the end.
    parts = given.split("/")
    for i in range(1, len(parts)):
        tail = "/".join(parts[i:])
        if tail in docs:
            return tail
    raise UsageError(f"Ukjent dokument «{name}». Dokumentene i indeksen: {_listing(docs)}.")


def _resolve_publisher(name: str, docs: Mapping[str, DocInfo]) -> str:
    known = sorted({doc.publisher for doc in docs.values() if doc.publisher})
    for publisher in known:
        if publisher.casefold() == name.strip().casefold():
            return publisher
    listing = ", ".join(known) if known else "ingen dokumenter har utgiver"
    raise UsageError(f"Ukjent utgiver «{name}». Utgiverne i indeksen: {listing}.")


def _check_years(year_from: int | None, year_to: int | None, docs: Mapping[str, DocInfo]):
    years = sorted({doc.year for doc in docs.values() if doc.year is not None})
    listing = ", ".join(map(str, years)) if years else "ingen dokumenter har årstall"
    if year_from and year_to and year_from > year_to:
        raise UsageError(
            f"Fra-året {year_from} er etter til-året {year_to}; bytt dem om. "
            f"Årene i indeksen: {listing}."
        )
    if year_from and not any(y >= year_from for y in years):
        raise UsageError(
            f"Ingen dokumenter fra {year_from} eller senere. Årene i indeksen: {listing}."
        )
    if year_to and not any(y <= year_to for y in years):
        raise UsageError(
            f"Ingen dokumenter fra {year_to} eller tidligere. Årene i indeksen: {listing}."
        )


def _passes(doc: DocInfo, filters: Filters) -> bool:
    year = doc.year
    return (
        (not filters.files or doc.file in filters.files)
        and (not filters.publishers or doc.publisher in filters.publishers)
        and (not filters.year_from or (year is not None and year >= filters.year_from))
        and (not filters.year_to or (year is not None and year <= filters.year_to))
    )


def _describe(filters: Filters) -> str:
    parts = [f"dokument {name}" for name in filters.files]
    parts += [f"utgiver {name}" for name in filters.publishers]
    if filters.year_from:
        parts.append(f"fra {filters.year_from}")
    if filters.year_to:
        parts.append(f"til {filters.year_to}")
    return ", ".join(parts)


def _listing(docs: Mapping[str, DocInfo], most: int = 20) -> str:
    names = sorted(docs)
    more = f" og {len(names) - most} til" if len(names) > most else ""
    return ", ".join(names[:most]) + more if names else "ingen"
