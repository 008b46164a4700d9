"""Resolving a short follow-up ("Og i 2023?", "Hva med legene?") against the last question.

Extractive kilde has no language model to rewrite questions, so this is deliberately simple:
a follow-up borrows the previous question's words, and where it names a year or number the
previous one's years and numbers give way to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kilde.index.sparse import words

_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_NUMBER = re.compile(r"\b\d[\d ,.%]*\b")
_OPENERS = ("og ", "men ", "hva med", "hva om", "enn ", "samme ", "også ", "hvordan med", "i ")
_PRONOUNS = {"det", "den", "de", "dette", "disse", "dem", "der", "dit", "her", "slik", "samme"}
_QUESTION_WORDS = {
    "hva",
    "hvem",
    "hvor",
    "hvilke",
    "hvilken",
    "hvilket",
    "når",
    "hvordan",
    "hvorfor",
    "mange",
    "mye",
    "med",
    "om",
    "og",
    "i",
    "er",
    "var",
    "enn",
    "men",
}


def is_followup(question: str) -> bool:
    """A question that leans on the previous one: short, opens with "Og"/"Hva med", or
    refers back with a pronoun and names little of its own."""
    text = question.strip().lower()
    content = [w for w in words(text) if w not in _QUESTION_WORDS]
    if text.startswith(_OPENERS) and len(content) <= 4:
        return True
    if len(content) <= 2:
        return True
    return len(content) <= 4 and any(w in _PRONOUNS for w in words(text))


def resolve(question: str, history: Sequence[str]) -> str:
    """The query to retrieve with: ``question`` itself, or merged with the last question."""
    earlier = [h for h in history if h and h.strip()]
    if not earlier or not is_followup(question):
        return question
    previous = earlier[-1]
    if len(earlier) > 1 and is_followup(previous):
        previous = resolve(previous, earlier[:-1])
    if _YEAR.search(question):
        previous = _YEAR.sub(" ", previous)
    elif _NUMBER.search(question):
        previous = _NUMBER.sub(" ", previous)
    merged = f"{question.strip()} {previous.strip()}"
    return re.sub(r"\s+", " ", merged).strip()
