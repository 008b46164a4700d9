"""Feedback from the chat (👍 / 👎 under each answer) and its export as gold items.

Each vote is one JSON line in ``feedback.jsonl`` in the index folder, appended under an
exclusive ``fcntl.flock``, so that two app processes (or two browser sessions of one) never
interleave or lose a line. A line holds the question, the answer and its citations as shown,
the user's correction (a 👎 may carry the right answer and a quote pasted from the source),
the index generation that answered, and the time. A PostgreSQL store keeps the same records
in its ``feedback`` table instead, so that every app server of the store counts them.

``export_gold`` turns the feedback into gold items that ``kilde eval`` runs:

- a 👎 with a corrected answer and a quote found in a corpus file: the answer the user gave,
  with the quote as evidence (on the page it was found on, for a PDF);
- a 👍 on an answer whose citations all verify against the corpus files (each quote found in
  its file, on the cited page): the answer as given, its citations as evidence;
- a 👍 on a refusal: an unanswerable item (the user agrees the documents do not say).

Everything else is left out, with the reason, in the export report.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kilde.answer.serialize import citation_to_dict
from kilde.errors import KildeError
from kilde.eval.gold import Evidence, GoldItem, validate_gold, write_gold
from kilde.eval.sources import SourceFiles
from kilde.index.pg_schema import is_pg_url
from kilde.ingest.readers import iter_sources
from kilde.types import Answer

FEEDBACK_FILE = "feedback.jsonl"
UP, DOWN = "up", "down"
FEEDBACK_TYPE = "feedback"  # the gold type of exported items; a row of its own in reports


def feedback_path(index_dir: str | Path) -> Path:
    return Path(index_dir) / FEEDBACK_FILE


def feedback_record(
    answer: Answer,
    vote: str,
    generation: str | None,
    correct_answer: str = "",
    correct_quote: str = "",
    now: dt.datetime | None = None,
) -> dict:
    """One feedback line: the answer as shown, the vote, and the user's correction."""
    if vote not in (UP, DOWN):
        raise ValueError(f"vote must be {UP!r} or {DOWN!r}, not {vote!r}")
    correction = None
    if vote == DOWN and (correct_answer.strip() or correct_quote.strip()):
        correction = {"answer": correct_answer.strip(), "quote": correct_quote.strip()}
    return {
        "time": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "generation": generation,
        "vote": vote,
        "question": answer.question,
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": [citation_to_dict(c) for c in answer.citations],
        "correction": correction,
    }


def append_feedback(index_dir: str | Path, record: dict) -> Path | str:
    """Append one record as one line, under an exclusive lock on the file; in a PostgreSQL
    store, as one row of its ``feedback`` table (shared by all its app servers)."""
    if is_pg_url(index_dir):
        from kilde.index.pg_store import shared_store

        with shared_store(str(index_dir)).pool.connection() as conn:
            conn.execute("INSERT INTO feedback (record) VALUES (%s)", (json.dumps(record),))
        return str(index_dir)
    path = feedback_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        with open(path, "ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError as exc:
        raise KildeError(
            f"Kunne ikke lagre tilbakemeldingen i {path} ({exc.strerror}); sjekk at mappen er "
            "skrivbar."
        ) from exc
    return path


def load_feedback(index_dir: str | Path) -> list[dict]:
    """Every feedback record, oldest first; lines that are not a JSON object are skipped."""
    if is_pg_url(index_dir):
        from kilde.index.pg_store import shared_store

        with shared_store(str(index_dir)).pool.connection() as conn:
            rows = conn.execute("SELECT record FROM feedback ORDER BY id").fetchall()
        return [r[0] for r in rows if isinstance(r[0], dict) and r[0].get("vote") in (UP, DOWN)]
    path = feedback_path(index_dir)
    if not path.is_file():
        return []
    with open(path, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)  # never read a line half written
        try:
            data = handle.read().decode("utf-8", errors="replace")
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    records = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("vote") in (UP, DOWN):
            records.append(record)
    return records


def feedback_counts(index_dir: str | Path) -> dict[str, int]:
    """{"up": n, "down": n, "corrected": n} for the sidebar."""
    records = load_feedback(index_dir)
    return {
        UP: sum(r["vote"] == UP for r in records),
        DOWN: sum(r["vote"] == DOWN for r in records),
        "corrected": sum(r["vote"] == DOWN and bool(r.get("correction")) for r in records),
    }


# --- export ----------------------------------------------------------------------------------


@dataclass
class ExportResult:
    items: list[GoldItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "time question: why"


def _item_id(record: dict) -> str:
    key = f"{record.get('time')}|{record.get('question')}|{record.get('vote')}"
    return "fb-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def _where_quote(sources: SourceFiles, quote: str, files: Iterable[str]) -> Evidence | None:
    """The quote as evidence in the first of ``files`` that holds it, with its page."""
    for name in files:
        found = sources.locate(name, quote)
        if found:
            return Evidence(file=name, quote=quote, page=found[0].page)
    return None


def _verified_evidence(sources: SourceFiles, citation: dict) -> Evidence | None:
    """The citation as evidence when its quote stands in its file, on its cited page."""
    name, quote, page = (
        citation.get("file") or "",
        citation.get("quote") or "",
        citation.get("page"),
    )
    found = sources.locate(name, quote) if name and quote else []
    if page is not None:
        found = [loc for loc in found if loc.page == page]
    return Evidence(file=name, quote=quote, page=page) if found else None


def _gold_from(record: dict, sources: SourceFiles, corpus_files: list[str]) -> GoldItem | str:
    """The gold item a feedback record makes, or why it makes none."""
    question = str(record.get("question") or "").strip()
    if not question:
        return "no question"
    item_id = _item_id(record)
    if record["vote"] == DOWN:
        correction = record.get("correction") or {}
        answer, quote = correction.get("answer", ""), correction.get("quote", "")
        if not answer or not quote:
            return "👎 without both a corrected answer and a quote from the source"
        cited = [c.get("file") for c in record.get("citations") or [] if c.get("file")]
        order = list(dict.fromkeys([*cited, *corpus_files]))  # cited documents first
        evidence = _where_quote(sources, quote, order)
        if evidence is None:
            return "the pasted quote was not found in any document of the corpus"
        return GoldItem(item_id, question, answer, (answer,), (evidence,), True, FEEDBACK_TYPE)
    if record.get("refused"):
        return GoldItem(item_id, question, "", (), (), False, "unanswerable")
    citations = record.get("citations") or []
    verified = [_verified_evidence(sources, c) for c in citations]
    if not citations or not all(verified):
        return "👍 on an answer whose citations do not all verify against the corpus"
    answer = str(record.get("answer") or "").strip()
    return GoldItem(item_id, question, answer, (answer,), tuple(verified), True, FEEDBACK_TYPE)


def indexed_corpus(index_dir: str | Path) -> Path | None:
    """The corpus folder the live index generation was built from, if it says."""
    from kilde.app.launch import index_status_of

    status = index_status_of(index_dir)
    return Path(status.corpus_dir) if status and status.corpus_dir else None


def export_gold(index_dir: str | Path, corpus_dir: str | Path, out: str | Path) -> ExportResult:
    """Write the gold items the feedback makes to ``out`` (JSONL) and say what was left out.

    Every written item passes ``validate_gold`` against ``corpus_dir``; a later vote on the
    same question and answer replaces an earlier one.
    """
    corpus_dir = Path(corpus_dir)
    sources = SourceFiles(corpus_dir)
    corpus_files = [p.relative_to(corpus_dir).as_posix() for p in iter_sources(corpus_dir)]
    result = ExportResult()
    by_key: dict[tuple, GoldItem] = {}
    for record in load_feedback(index_dir):
        made = _gold_from(record, sources, corpus_files)
        if isinstance(made, str):
            result.skipped.append(f"{record.get('time')} «{record.get('question')}»: {made}")
            continue
        problems = validate_gold([made], corpus_dir, sources)
        if problems:
            result.skipped.append(f"{record.get('time')} «{made.question}»: {problems[0]}")
            continue
        by_key.pop((made.question, made.answer), None)
        by_key[(made.question, made.answer)] = made
    result.items = list(by_key.values())
    write_gold(result.items, Path(out))
    return result
