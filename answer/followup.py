"""Resolving a short follow-up ("Og i 2023?", "Hva med legene?") against the last question.

Extractive kilde has no language model to rewrite questions, so this is deliberately simple:
a follow-up borrows the previous question's words, and where it names a year or number the
previous one's years and numbers give way to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kilde.text import words
from kilde.text.lexicon import FOLLOWUP_OPENERS, PRONOUNS, QUESTION_WORDS

_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_NUMBER = re.compile(r"\b\d[\d ,.%]*\b")


def is_followup(question: str) -> bool:
    """A question that leans on the previous one: short, opens with "Og"/"Hva med", or
    refers back with a pronoun and names little of its own."""
    text = question.strip().lower()
    content = [w for w in words(text) if w not in QUESTION_WORDS]
    if text.startswith(FOLLOWUP_OPENERS) and len(content) <= 4:
        return True
    if len(content) <= 2:
        return True
    return len(content) <= 4 and any(w in PRONOUNS for w in words(text))


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


class FollowupResolver:
    """Pipeline stage: the query to retrieve with, given the conversation so far."""

    def resolve(self, question: str, history: Sequence[str]) -> str:
        return resolve(question, history)
