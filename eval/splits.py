"""Held-out discipline for gold items: which items share evidence, and a deterministic,
stratified dev/test split that keeps such items together.

Two items "share evidence" when one quote of each lies in the same sentence of the same
corpus file (spans overlap once each quote is widened to its sentence), or when two quotes
share a run of ``WINDOW`` words. Items that share evidence ask about the same fact, so a
split that put them on both sides would let dev tuning leak into test figures.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from .gold import Evidence, GoldItem

WINDOW = 8  # words in a shared run that make two quotes the same evidence
SENTENCE_REACH = 200  # at most this many characters a quote is widened to each side
_SENTENCE_END = re.compile(r"[.!?]\d*\s")  # a footnote number may follow the full stop
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits), the unit of every overlap test."""
    return _WORD.findall(text.lower())


def word_windows(text: str, size: int = WINDOW) -> set[tuple[str, ...]]:
    """Every run of ``size`` consecutive words; a shorter text is one run of its own."""
    tokens = words(text)
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def jaccard(a: str, b: str) -> float:
    """Word-set Jaccard similarity of two questions (0 when both are empty)."""
    sa, sb = set(words(a)), set(words(b))
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def sentence_spans(ev: Evidence, text: str) -> list[tuple[int, int]]:
    """The character spans of the sentence(s) around each occurrence of the quote."""
    spans = []
    start = text.find(ev.quote)
    while start >= 0:
        end = start + len(ev.quote)
        left_floor = max(0, start - SENTENCE_REACH)
        ends_before = list(_SENTENCE_END.finditer(text, left_floor, start))
        left = ends_before[-1].end() if ends_before else left_floor
        # From the last character, so that a quote ending in a full stop ends its sentence.
        after = _SENTENCE_END.search(text, end - 1, min(len(text), end + SENTENCE_REACH))
        right = after.start() + 1 if after else min(len(text), end + SENTENCE_REACH)
        spans.append((left, right))
        start = text.find(ev.quote, start + 1)
    return spans


class EvidenceIndex:
    """The sentences and word runs of a set of items' evidence, to test other evidence
    against."""

    def __init__(self, items: Iterable[GoldItem], corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)
        self._texts: dict[str, str] = {}
        self.spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self.windows: dict[tuple[str, ...], str] = {}
        for item in items:
            self.add(item)

    def add(self, item: GoldItem) -> None:
        for ev in item.evidence:
            for left, right in self.spans_of(ev):
                self.spans[ev.file].append((left, right, item.id))
            for run in word_windows(ev.quote):
                self.windows.setdefault(run, item.id)

    def text(self, name: str) -> str:
        if name not in self._texts:
            path = self.corpus_dir / name
            self._texts[name] = path.read_text(encoding="utf-8") if path.is_file() else ""
        return self._texts[name]

    def spans_of(self, ev: Evidence) -> list[tuple[int, int]]:
        return sentence_spans(ev, self.text(ev.file))

    def shared_window(self, ev: Evidence) -> str | None:
        """The id of an indexed item whose evidence shares a word run with ``ev``."""
        for run in word_windows(ev.quote):
            if run in self.windows:
                return self.windows[run]
        return None

    def same_sentence(self, ev: Evidence) -> str | None:
        """The id of an indexed item whose evidence lies in the same sentence as ``ev``."""
        return min(self.same_sentence_all(ev), default=None)

    def same_sentence_all(self, ev: Evidence) -> set[str]:
        """The ids of every indexed item with evidence in the same sentence as ``ev``."""
        found = set()
        for left, right in self.spans_of(ev):
            for other_left, other_right, item_id in self.spans.get(ev.file, ()):
                if left < other_right and other_left < right:
                    found.add(item_id)
        return found


def evidence_groups(items: Sequence[GoldItem], corpus_dir: Path) -> list[list[GoldItem]]:
    """Items joined (transitively) when they share evidence; singletons for the rest."""
    parent = {item.id: item.id for item in items}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    earlier = EvidenceIndex((), corpus_dir)
    for item in items:
        for ev in item.evidence:
            # A shared word run always points at an item already joined with every other
            # item holding that run; sentence overlaps can reach separate groups at once.
            others = earlier.same_sentence_all(ev) | {earlier.shared_window(ev)} - {None}
            for other in others:
                parent[root(item.id)] = root(other)
        earlier.add(item)
    groups: dict[str, list[GoldItem]] = defaultdict(list)
    for item in items:
        groups[root(item.id)].append(item)
    return list(groups.values())


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def assign_dev_test(items: Sequence[GoldItem], corpus_dir: Path) -> list[GoldItem]:
    """Give every item split "dev" or "test", about half each, stratified by ``type``
    (which also separates answerable from unanswerable) and with evidence groups kept whole.

    Items that already have a split keep it, and pull their whole group along; the rest are
    placed group by group (largest first, then by a hash of the ids, so the result does not
    depend on file order) on the side where their types are scarcer.
    """
    groups = evidence_groups(items, corpus_dir)
    counts: dict[str, dict[str, int]] = {"dev": defaultdict(int), "test": defaultdict(int)}
    fixed: dict[str, str] = {}
    for group in groups:
        given = {item.split for item in group if item.split in counts}
        if len(given) > 1:
            ids = ", ".join(item.id for item in group)
            raise ValueError(f"items {ids} share evidence but have different splits")
        if given:
            side = given.pop()
            for item in group:
                fixed[item.id] = side
                counts[side][item.type] += 1
    free = [g for g in groups if g[0].id not in fixed]
    free.sort(key=lambda g: (-len(g), _hash("|".join(sorted(i.id for i in g)))))
    for group in free:
        key = _hash("|".join(sorted(i.id for i in group)))

        def load(side: str, group: list[GoldItem] = group) -> tuple[int, int]:
            by_type = sum(counts[side][item.type] for item in group)
            return by_type, sum(counts[side].values())

        dev_load, test_load = load("dev"), load("test")
        if dev_load == test_load:
            side = "dev" if int(key, 16) % 2 == 0 else "test"
        else:
            side = "dev" if dev_load < test_load else "test"
        for item in group:
            fixed[item.id] = side
            counts[side][item.type] += 1
    return [replace(item, split=fixed[item.id]) for item in items]
