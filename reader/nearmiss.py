"""Near-miss "no answer" items: a right question with one detail swapped for one the
candidates do not hold.

The reader's other "no answer" items pair a question with sentences that lack its words, so
it learns "the question's words are not here" and still answers a question about Helse Nord
with a sentence about Helse Midt-Norge. Here a year, a number or a name that the question
shares with its answer sentence is replaced by one that stands in none of the candidates
(2024 -> 2021, "Trondheim" -> "Bodø"); the candidates stay the same and the target becomes
"no answer", so the only thing that tells the two items apart is the swapped detail.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from kilde.text.patterns import YEAR

from .data import ReaderItem

NUMBER = re.compile(r"\b\d+\b")
# A capitalised word that is not the question's first word: a name, place or organisation.
NAME = re.compile(r"(?<=\s)[A-ZÆØÅ][\wæøåÆØÅ-]{2,}")


def names(questions: Sequence[str]) -> list[str]:
    """The capitalised words of ``questions`` (the pool swapped names are drawn from)."""
    return sorted({m.group() for q in questions for m in NAME.finditer(q)})


def _word(word: str) -> re.Pattern[str]:
    """``word`` as a whole word, in any case."""
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)


def _in_any(word: str, texts: Sequence[str]) -> bool:
    pattern = _word(word)
    return any(pattern.search(t) for t in texts)


def _swaps(item: ReaderItem, pool: Sequence[str], rng: random.Random) -> list[tuple[str, str]]:
    """(detail, replacement) pairs for details of the question that its answer sentences
    hold, each replacement found in none of the candidates."""
    answer = [item.candidates[i] for i in item.positives]
    out: list[tuple[str, str]] = []
    for m in YEAR.finditer(item.question):
        year = m.group()
        if _in_any(year, answer):
            shifted = [str(int(year) + d) for d in (-5, -4, -3, -2, -1, 1, 2, 3)]
            free = [y for y in shifted if not _in_any(y, item.candidates)]
            if free:
                out.append((year, rng.choice(free)))
    for m in NUMBER.finditer(item.question):
        number = m.group()
        if not YEAR.fullmatch(number) and _in_any(number, answer):
            other = str(int(number) + rng.choice((-3, -2, 2, 3, 5, 7)))
            if int(other) > 0 and not _in_any(other, item.candidates):
                out.append((number, other))
    for m in NAME.finditer(item.question):
        name = m.group()
        if _in_any(name, answer):
            for _ in range(20 if pool else 0):
                other = rng.choice(pool)
                if other.lower() != name.lower() and not _in_any(other, item.candidates):
                    out.append((name, other))
                    break
    return out


def near_miss_items(items: Sequence[ReaderItem], share: float, seed: int = 0) -> list[ReaderItem]:
    """For about ``share`` of the answerable ``items`` that have a detail to swap, the same
    candidates with the swapped question and "no answer" as the target."""
    rng = random.Random(seed)
    # Names are drawn from questions of the same source: in-domain items swap "Helse Vest"
    # for "Helse Nord", not for a Wikipedia name.
    pools: dict[str, list[str]] = {}
    for source in {i.source for i in items}:
        pools[source] = names([i.question for i in items if i.source == source])
    out: list[ReaderItem] = []
    for item in items:
        if not item.positives or rng.random() >= share:
            continue
        swaps = _swaps(item, pools[item.source], rng)
        if not swaps:
            continue
        detail, replacement = rng.choice(swaps)
        question = _word(detail).sub(replacement, item.question, count=1)
        out.append(ReaderItem(question, item.candidates, frozenset(), item.source + "-nearmiss"))
    return out
