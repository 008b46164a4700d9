"""The gold evaluation set: question/answer items with verbatim evidence from the corpus.

One JSON object per line (JSONL)::

    {"id": str, "question": str, "answer": str, "answer_aliases": [str],
     "evidence": [{"file": str, "quote": str}], "answerable": bool, "type": str,
     "split": str}

``split`` is optional: "dev" (tune on it), "test" (report it, never tune on it) or "train"
(training data for the reader, never scored); an item without it belongs to no split.

``load_gold`` checks the shape of every line; ``validate_gold`` checks the content
against the corpus (ids, types, and that every quote is an exact substring of its file).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kilde.errors import KildeError

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
_OPTIONAL_FIELDS: dict[str, type] = {"split": str}
_EVIDENCE_FIELDS = ("file", "quote")


@dataclass(frozen=True)
class Evidence:
    """A passage that proves an answer: ``quote`` is verbatim text of corpus ``file``."""

    file: str
    quote: str


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
    evidence = []
    for ev in obj["evidence"]:
        if not isinstance(ev, dict):
            raise _LineError(f"evidence must hold objects, got {_type_name(ev)}")
        _check_keys(ev, _EVIDENCE_FIELDS, "evidence")
        for key in _EVIDENCE_FIELDS:
            if not isinstance(ev[key], str):
                raise _LineError(
                    f"evidence key {key!r} must be a string, got {_type_name(ev[key])}"
                )
        evidence.append(Evidence(file=ev["file"], quote=ev["quote"]))
    return GoldItem(
        id=obj["id"],
        question=obj["question"],
        answer=obj["answer"],
        answer_aliases=tuple(obj["answer_aliases"]),
        evidence=tuple(evidence),
        answerable=obj["answerable"],
        type=obj["type"],
        split=obj.get("split"),
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


def validate_gold(items: Iterable[GoldItem], corpus_dir: Path) -> list[str]:
    """Return the problems found in ``items`` (an empty list when the set is valid)."""
    corpus_dir = Path(corpus_dir)
    problems: list[str] = []
    seen: set[str] = set()
    texts: dict[str, str | None] = {}

    def text_of(name: str) -> str | None:
        if name not in texts:
            path = corpus_dir / name
            try:
                texts[name] = path.read_text(encoding="utf-8") if path.is_file() else None
            except (OSError, UnicodeDecodeError):
                texts[name] = None
        return texts[name]

    for item in items:
        where = item.id or "<no id>"
        if not item.id.strip():
            problems.append("an item has an empty id")
        elif item.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(item.id)
        if not item.question.strip():
            problems.append(f"{where}: empty question")
        if item.type not in TYPES:
            problems.append(f"{where}: unknown type {item.type!r} (expected one of {TYPES})")
        if item.split is not None and item.split not in SPLITS:
            problems.append(f"{where}: unknown split {item.split!r} (expected one of {SPLITS})")

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
            if _bad_relative_path(ev.file):
                problems.append(f"{where}: evidence file {ev.file!r} is not a relative path")
                continue
            text = text_of(ev.file)
            if text is None:
                problems.append(f"{where}: evidence file {ev.file!r} not found in {corpus_dir}")
            elif not ev.quote.strip():
                problems.append(f"{where}: empty quote for {ev.file}")
            elif ev.quote not in text:
                problems.append(f"{where}: quote not found verbatim in {ev.file}: {ev.quote!r}")
    return problems


def select_split(items: Iterable[GoldItem], split: str) -> list[GoldItem]:
    """The items of one split ("dev", "test", "train"), or every item for "all"."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise KildeError(f"Ukjent split {split!r}; bruk en av {', '.join(SPLITS)} eller all.")
    return [item for item in items if item.split == split]


def item_to_dict(item: GoldItem) -> dict:
    """The JSON object for one item, keys in schema order (``split`` only when set)."""
    obj = {
        "id": item.id,
        "question": item.question,
        "answer": item.answer,
        "answer_aliases": list(item.answer_aliases),
        "evidence": [{"file": ev.file, "quote": ev.quote} for ev in item.evidence],
        "answerable": item.answerable,
        "type": item.type,
    }
    if item.split is not None:
        obj["split"] = item.split
    return obj


def write_gold(items: Iterable[GoldItem], path: Path) -> None:
    """Write items as JSONL (UTF-8, one object per line), creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(item_to_dict(item), ensure_ascii=False) for item in items]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
