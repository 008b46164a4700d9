"""The gold evaluation set: question/answer items with verbatim evidence from the corpus.

One JSON object per line (JSONL)::

    {"id": str, "question": str, "answer": str, "answer_aliases": [str],
     "evidence": [{"file": str, "quote": str, "page": int (optional)}],
     "answerable": bool, "type": str, "split": str (optional)}

``split`` is optional: "dev" (tune on it), "test" (report it, never tune on it) or "train"
(training data for the reader, never scored); an item without it belongs to no split.

``load_gold`` checks the shape of every line; ``validate_gold`` checks the content against
the corpus: ids, questions, and that every quote stands in the text of its file (PDF, DOCX,
TXT or MD, read as ingest reads it; whitespace, case and line-end hyphenation aside), on
the stated physical ``page`` where the evidence names one.

``type`` is open: any non-empty string. The known ``TYPES`` keep their meaning
("unanswerable" goes with ``answerable: false``); other types are reported as their own row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kilde.errors import KildeError
from kilde.eval.sources import QuoteLocation, SourceFiles

TYPES = (
    "number",
    "date",
    "entity",
    "definition",
    "reason",
    "comparison",
    "multi_hop",
    "unanswerable",
)

SPLITS = ("dev", "test", "train")

# Field name -> expected JSON type, in the order they are written.
_FIELDS: dict[str, type] = {
    "id": str,
    "question": str,
    "answer": str,
    "answer_aliases": list,
    "evidence": list,
    "answerable": bool,
    "type": str,
}
# Optional fields, written after the required ones when set.
# ``history``: the earlier questions of a conversation, oldest first; the item's question is
# asked as a follow-up to them (``kilde ask --history``).
_OPTIONAL_FIELDS: dict[str, type] = {"split": str, "history": list}
_EVIDENCE_FIELDS = ("file", "quote")
_EVIDENCE_OPTIONAL = ("page",)


@dataclass(frozen=True)
class Evidence:
    """A passage that proves an answer: ``quote`` is verbatim text of corpus ``file``,
    on physical ``page`` (1-based) when the gold file states one."""

    file: str
    quote: str
    page: int | None = None


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answer: str
    answer_aliases: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answerable: bool
    type: str
    split: str | None = None
    history: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first


class _LineError(Exception):
    """A problem with one JSONL line; turned into a KildeError naming file and line."""


_JSON_NAMES = {
    bool: "boolean",
    str: "string",
    list: "list",
    dict: "object",
    int: "number",
    float: "number",
    type(None): "null",
}


def _type_name(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _check_keys(
    obj: dict, expected: Iterable[str], what: str, optional: Iterable[str] = ()
) -> None:
    expected = list(expected)
    allowed = set(expected) | set(optional)
    missing = [k for k in expected if k not in obj]
    unknown = sorted(k for k in obj if k not in allowed)
    if missing:
        raise _LineError(f"{what} is missing key(s) {', '.join(missing)}")
    if unknown:
        raise _LineError(f"{what} has unknown key(s) {', '.join(unknown)}")


def _parse_item(obj: object) -> GoldItem:
    if not isinstance(obj, dict):
        raise _LineError(f"expected a JSON object, got {_type_name(obj)}")
    _check_keys(obj, _FIELDS, "item", optional=_OPTIONAL_FIELDS)
    for key, kind in (*_FIELDS.items(), *_OPTIONAL_FIELDS.items()):
        if key not in obj:
            continue  # only optional keys can be absent here
        value = obj[key]
        if not isinstance(value, kind):
            raise _LineError(f"key {key!r} must be a {_JSON_NAMES[kind]}, got {_type_name(value)}")
    for alias in obj["answer_aliases"]:
        if not isinstance(alias, str):
            raise _LineError(f"answer_aliases must hold strings, got {_type_name(alias)}")
    for turn in obj.get("history", []):
        if not isinstance(turn, str):
            raise _LineError(f"history must hold strings, got {_type_name(turn)}")
    evidence = []
    for ev in obj["evidence"]:
        if not isinstance(ev, dict):
            raise _LineError(f"evidence must hold objects, got {_type_name(ev)}")
        _check_keys(ev, _EVIDENCE_FIELDS, "evidence", _EVIDENCE_OPTIONAL)
        for key in _EVIDENCE_FIELDS:
            if not isinstance(ev[key], str):
                raise _LineError(
                    f"evidence key {key!r} must be a string, got {_type_name(ev[key])}"
                )
        page = ev.get("page")
        if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
            raise _LineError(f"evidence page must be a page number from 1, got {page!r}")
        evidence.append(Evidence(file=ev["file"], quote=ev["quote"], page=page))
    return GoldItem(
        id=obj["id"],
        question=obj["question"],
        answer=obj["answer"],
        answer_aliases=tuple(obj["answer_aliases"]),
        evidence=tuple(evidence),
        answerable=obj["answerable"],
        type=obj["type"],
        split=obj.get("split"),
        history=tuple(obj.get("history", [])),
    )


def load_gold(path: Path) -> list[GoldItem]:
    """Read a gold JSONL file. Blank lines are skipped.

    Raises KildeError naming the file and line for bad JSON, missing or unknown keys,
    and values of the wrong type.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KildeError(f"Gold file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KildeError(f"Cannot read gold file {path}: {exc}") from None
    items: list[GoldItem] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KildeError(f"{path}:{lineno}: bad JSON ({exc.msg})") from None
        try:
            items.append(_parse_item(obj))
        except _LineError as exc:
            raise KildeError(f"{path}:{lineno}: {exc}") from None
    return items


def _bad_relative_path(name: str) -> bool:
    p = PurePosixPath(name)
    return not name or p.is_absolute() or ".." in p.parts or "\\" in name


def validate_gold(
    items: Iterable[GoldItem], corpus_dir: Path, sources: SourceFiles | None = None
) -> list[str]:
    """Return the problems found in ``items`` (an empty list when the set is valid).

    ``sources`` reads the corpus files; pass one to share its reads with a later
    ``locate_evidence``.
    """
    sources = sources or SourceFiles(corpus_dir)
    problems: list[str] = []
    seen: set[str] = set()

    for item in items:
        where = item.id or "<no id>"
        if not item.id.strip():
            problems.append("an item has an empty id")
        elif item.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(item.id)
        if not item.question.strip():
            problems.append(f"{where}: empty question")
        if item.split is not None and item.split not in SPLITS:
            problems.append(f"{where}: unknown split {item.split!r} (expected one of {SPLITS})")
        if not item.type.strip():
            problems.append(f"{where}: empty type (known types: {', '.join(TYPES)})")

        if not item.answerable or item.type == "unanswerable":
            if item.answerable:
                problems.append(f"{where}: type 'unanswerable' but answerable is true")
            if item.type != "unanswerable":
                problems.append(f"{where}: answerable is false but type is {item.type!r}")
            if item.evidence:
                problems.append(f"{where}: unanswerable item has evidence")
            if item.answer_aliases:
                problems.append(f"{where}: unanswerable item has answer aliases")
            continue

        if not item.answer.strip():
            problems.append(f"{where}: answerable item has an empty answer")
        if not item.answer_aliases:
            problems.append(f"{where}: answerable item has no answer alias")
        if any(not a.strip() for a in item.answer_aliases):
            problems.append(f"{where}: empty answer alias")
        if not item.evidence:
            problems.append(f"{where}: answerable item has no evidence")
        for ev in item.evidence:
            problem = _evidence_problem(ev, sources)
            if problem:
                problems.append(f"{where}: {problem}")
    return problems


def select_split(items: Iterable[GoldItem], split: str) -> list[GoldItem]:
    """The items of one split ("dev", "test", "train"), or every item for "all"."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise KildeError(f"Ukjent split {split!r}; bruk en av {', '.join(SPLITS)} eller all.")
    return [item for item in items if item.split == split]


def _evidence_problem(ev: Evidence, sources: SourceFiles) -> str | None:
    if _bad_relative_path(ev.file):
        return f"evidence file {ev.file!r} is not a relative path"
    source = sources.source(ev.file)
    if isinstance(source, str):
        return source
    if not ev.quote.strip():
        return f"empty quote for {ev.file}"
    found = sources.locate(ev.file, ev.quote)
    if not found:
        return f"quote not found in {ev.file}: {ev.quote!r}"
    if ev.page is None:
        return None
    if not source.paged:
        return f"evidence names page {ev.page}, but {ev.file} has no pages"
    if not any(loc.page == ev.page for loc in found):
        pages = ", ".join(loc.describe() for loc in found)
        return f"quote not on page {ev.page} of {ev.file} (found on {pages}): {ev.quote!r}"
    return None


def locate_evidence(
    items: Iterable[GoldItem], sources: SourceFiles
) -> dict[str, tuple[tuple[QuoteLocation, ...], ...]]:
    """Item id -> for each evidence, every place its quote stands in its file (a stated page
    is among them once ``validate_gold`` passed). A citation of any of them is on a right
    page: a report repeats its summary sentences in its chapters."""
    return {
        item.id: tuple(
            tuple(sources.locate(ev.file, ev.quote) if not _bad_relative_path(ev.file) else ())
            for ev in item.evidence
        )
        for item in items
    }


def item_to_dict(item: GoldItem) -> dict:
    """The JSON object for one item, keys in schema order (``split`` and ``history`` only
    when set)."""
    obj = {
        "id": item.id,
        "question": item.question,
        "answer": item.answer,
        "answer_aliases": list(item.answer_aliases),
        "evidence": [_evidence_to_dict(ev) for ev in item.evidence],
        "answerable": item.answerable,
        "type": item.type,
    }
    if item.split is not None:
        obj["split"] = item.split
    if item.history:
        obj["history"] = list(item.history)
    return obj


def _evidence_to_dict(ev: Evidence) -> dict:
    row: dict = {"file": ev.file, "quote": ev.quote}
    if ev.page is not None:
        row["page"] = ev.page
    return row


def write_gold(items: Iterable[GoldItem], path: Path) -> None:
    """Write items as JSONL (UTF-8, one object per line), creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(item_to_dict(item), ensure_ascii=False) for item in items]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
