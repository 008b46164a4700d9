"""Resolving a short follow-up ("Og i 2023?", "Hva med legene?") against the last question.

Extractive kilde has no language model to rewrite questions, so this is deliberately simple:
a follow-up borrows the previous question's words, and where it names a year or number the
previous one's years and numbers give way to it. A year named relative to the previous
question ("Hva var tallet året før?" after a question on 2024) becomes that year (2023), and
words that only point back ("tallet", "andelen") are left out of the query: every sentence
would match them equally, or none would.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kilde.text import words
from kilde.text.lexicon import (
    BACK_REFERENCES,
    FOLLOWUP_OPENERS,
    FUNCTION_WORDS,
    PRONOUNS,
    QUESTION_WORDS,
    REFERRING_WORDS,
)
from kilde.text.patterns import YEAR, relative_year

_NUMBER = re.compile(r"\b\d[\d ,.%]*\b")


def is_followup(question: str) -> bool:
    """A question that leans on the previous one: short, opens with "Og"/"Hva med", names a
    year relative to another ("året før"), or refers back with a pronoun or a word like
    "tallet" and names little of its own."""
    text = question.strip().lower()
    tokens = words(text)
    # Its words beyond how it asks ("hvor mange") ...
    asked = [w for w in tokens if w not in QUESTION_WORDS]
    # ... and beyond the small words ("av", "som", "på").
    content = [w for w in asked if w not in FUNCTION_WORDS]
    # What the question names itself, beyond pointing back.
    specific = [w for w in content if w not in REFERRING_WORDS | PRONOUNS]
    if text.startswith(FOLLOWUP_OPENERS) and len(content) <= 4:
        return True
    if len(asked) <= 2:
        return True
    if relative_year(text) and not YEAR.search(text) and len(specific) <= 3:
        return True
    if len(specific) <= 1 and len(content) <= 6 or len(specific) <= 2 and len(content) <= 4:
        return True
    # A word that refers back, in a question of up to 8 words beyond its question words and
    # small words. 4 until 2026-12-02; at 8, 59 % of 120 written follow-ups are read as such
    # (43 % before) and 1.5 % of 970 questions of their own (0.7 %); docs/followups.md.
    if any(w in BACK_REFERENCES for w in tokens) and len(content) <= 8:
        return True
    # "det"/"den"/"de" may be an article ("det nye vannverket"), so they need a shorter question.
    return len(asked) <= 4 and any(w in PRONOUNS for w in tokens)


def _own_part(question: str, previous: str) -> str:
    """The follow-up's own words for the query: a relative year made absolute against the
    last year of ``previous``, and the words that only point back left out."""
    own = question.strip()
    relative = relative_year(own)
    years = YEAR.findall(previous)
    if relative and not YEAR.search(own):
        if not years:
            return own  # no year to count from: the words stay as asked
        found, offset = relative
        own = f"{own[: found.start()]} {int(years[-1]) + offset} {own[found.end() :]}"
    kept = [w for w in re.split(r"(\s+)", own) if w.strip(" ?!.,").lower() not in REFERRING_WORDS]
    return "".join(kept)


def resolve(question: str, history: Sequence[str]) -> str:
    """The query to retrieve with: ``question`` itself, or merged with the last question."""
    earlier = [h for h in history if h and h.strip()]
    if not earlier or not is_followup(question):
        return question
    previous = earlier[-1]
    if len(earlier) > 1 and is_followup(previous):
        previous = resolve(previous, earlier[:-1])
    own = _own_part(question, previous)
    if YEAR.search(own):
        previous = YEAR.sub(" ", previous)
    elif _NUMBER.search(own):
        previous = _NUMBER.sub(" ", previous)
    merged = re.sub(r"\s+", " ", f"{own} {previous.strip()}")
    # Tidy what the removals left: "i ?" -> "?", "2023 ?" -> "2023?".
    merged = re.sub(r"\b(?:i|fra|til|per|for) (?=[?.!]|$)", "", merged)
    return re.sub(r"\s+(?=[?.!,])", "", merged).strip()


def changed_year(question: str, query: str) -> frozenset[str]:
    """The year a follow-up changes to, as it stands in the query ("Og for 2026?" -> 2026,
    "Og året før?" after 2024 -> 2023); empty for a question searched as asked or one that
    changes no year. The answer must hold it: the earlier question's own sentence matches
    every other word better. (Only years: a name or a group may be written another way in
    the answer, "HMN" for "Helse Midt-Norge", so those only weigh double.)"""
    if query == question:  # resolve() returns the question itself when it is no follow-up
        return frozenset()
    return frozenset(YEAR.findall(query if relative_year(question) else question))


class FollowupResolver:
    """Pipeline stage: the query to retrieve with, given the conversation so far."""

    def resolve(self, question: str, history: Sequence[str]) -> str:
        return resolve(question, history)
