"""Check train/data/kilde-train-b.jsonl against the corpus and the gold evaluation set.

Asserts, standard library only:
- every item has the gold fields plus ``split == "train"``, a known type and a unique id;
- every evidence quote is an exact substring of its corpus file (answerable items
  have evidence, unanswerable items have none);
- no training quote shares an 8-word window with any eval evidence quote, touches a corpus
  line that holds an eval quote, or overlaps the sentence an eval quote was cut from (so no
  eval sentence is reused);
- no training question has word-set Jaccard > 0.6 with any eval question.

Run from the project root: ``python3 train/data/check_disjoint_b.py``.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "train" / "data" / "kilde-train-b.jsonl"
EVAL = ROOT / "eval" / "gold" / "kilde.jsonl"
CORPUS = ROOT / "corpus"
# eval/gold.py TYPES, repeated so this check needs only the standard library.
TYPES = set("number date entity definition reason comparison multi_hop unanswerable".split())
FIELDS = ("id", "question", "answer", "answer_aliases", "evidence", "answerable", "type")
WINDOW = 8
MAX_JACCARD = 0.6


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def windows(text: str) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + WINDOW]) for i in range(len(w) - WINDOW + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = set(words(a)), set(words(b))
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


# The corpus ends a paragraph line with two spaces and a mid-paragraph line with one; after
# normalising, a paragraph end is "¶" and every other whitespace run is one space.
# A footnote number may follow the full stop ("velferdsteknologi.35 Den").
SENTENCE_START = re.compile(r"(?<=[.!?:])\d{0,2}\s+(?=[A-ZÆØÅ0-9«•])|•|¶")
SENTENCE_END = re.compile(r"[.!?]\d{0,2}(?=\s)|¶")


def normalise(text: str) -> str:
    text = re.sub(r"[ \t]{2,}\n\s*|\n[ \t]*\n[ \t]*\n\s*", " ¶ ", text)
    return re.sub(r"\s+", " ", text)


def find_all(text: str, quote: str) -> list[tuple[int, int]]:
    spans, start = [], text.find(quote)
    while start >= 0:
        spans.append((start, start + len(quote)))
        start = text.find(quote, start + 1)
    return spans


def sentence_spans(norm_text: str, quote: str) -> list[tuple[int, int]]:
    """Spans, in normalised text, of the sentences around every occurrence of ``quote``.

    Eval quotes are often clauses cut at line ends, and the report repeats sentences (summary
    and chapter) with other line breaks; matching whitespace-normalised text and widening to the
    sentence keeps a training quote from taking any copy of an eval sentence.
    """
    spans = []
    for start, end in find_all(norm_text, normalise(quote).strip()):
        begin = 0
        for match in SENTENCE_START.finditer(norm_text, max(0, start - 2000), start + 1):
            begin = match.end()
        stop = SENTENCE_END.search(norm_text, end - 1)
        spans.append((begin, stop.end() if stop else len(norm_text)))
    return spans


def line_spans(text: str, quote: str) -> set[int]:
    """Line numbers touched by every occurrence of ``quote`` in ``text``."""
    lines: set[int] = set()
    start = text.find(quote)
    while start >= 0:
        first = text.count("\n", 0, start)
        lines.update(range(first, first + quote.count("\n") + 1))
        start = text.find(quote, start + 1)
    return lines


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main() -> int:
    texts = {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}
    norm_texts = {name: normalise(text) for name, text in texts.items()}
    train, gold = load(TRAIN), load(EVAL)
    problems: list[str] = []

    eval_windows: set[tuple[str, ...]] = set()
    eval_lines: dict[str, set[int]] = {}
    eval_sentences: dict[str, list[tuple[int, int]]] = {}
    for item in gold:
        for ev in item["evidence"]:
            eval_windows |= windows(ev["quote"])
            if ev["file"] in texts:
                eval_lines.setdefault(ev["file"], set()).update(
                    line_spans(texts[ev["file"]], ev["quote"])
                )
                eval_sentences.setdefault(ev["file"], []).extend(
                    sentence_spans(norm_texts[ev["file"]], ev["quote"])
                )

    for item_id, n in Counter(item.get("id") for item in train).items():
        if n > 1:
            problems.append(f"duplicate id {item_id} ({n} times)")

    for item in train:
        iid = item.get("id")
        missing = [f for f in FIELDS if f not in item]
        if missing or item.get("split") != "train":
            problems.append(f"{iid}: missing fields {missing} or split != train")
            continue
        if item["type"] not in TYPES:
            problems.append(f"{iid}: unknown type {item['type']}")
        if item["answerable"] != (item["type"] != "unanswerable"):
            problems.append(f"{iid}: answerable does not match type")
        if item["answerable"] and not (item["evidence"] and item["answer_aliases"]):
            problems.append(f"{iid}: answerable item without evidence or aliases")
        if not item["answerable"] and (
            item["evidence"] or item["answer"] or item["answer_aliases"]
        ):
            problems.append(f"{iid}: unanswerable item with answer or evidence")
        for ev in item["evidence"]:
            text = texts.get(ev["file"])
            if text is None or ev["quote"] not in text:
                problems.append(f"{iid}: quote not in {ev['file']}: {ev['quote']!r}")
                continue
            if windows(ev["quote"]) & eval_windows:
                problems.append(f"{iid}: quote shares an 8-word window with eval: {ev['quote']!r}")
            if line_spans(text, ev["quote"]) & eval_lines.get(ev["file"], set()):
                problems.append(f"{iid}: quote on a line used by eval: {ev['quote']!r}")
            elif any(
                a < e and s < b
                for s, e in eval_sentences.get(ev["file"], [])
                for a, b in find_all(norm_texts[ev["file"]], normalise(ev["quote"]).strip())
            ):
                problems.append(f"{iid}: quote in a sentence used by eval: {ev['quote']!r}")
        for g in gold:
            score = jaccard(item["question"], g["question"])
            if score > MAX_JACCARD:
                problems.append(f"{iid}: question Jaccard {score:.2f} with eval {g['id']}")

    types = Counter(item.get("type") for item in train)
    answerable = sum(1 for item in train if item.get("answerable"))
    print(f"{len(train)} items: {answerable} answerable, {len(train) - answerable} unanswerable")
    print("per type: " + ", ".join(f"{t}={n}" for t, n in sorted(types.items())))
    for p in problems:
        print("PROBLEM", p)
    print("OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
