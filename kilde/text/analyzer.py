"""The search analyzer: lower-cased words, Norwegian stopwords out, Snowball-Norwegian stems.

BM25, the evidence gate and sentence scoring all count the same terms through ``analyze``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_NORWEGIAN

_WORD = re.compile(r"[0-9A-Za-zÀ-ÖØ-öø-ÿ]+")
STOPWORDS = frozenset(STOPWORDS_NORWEGIAN)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("norwegian")


def words(text: str) -> list[str]:
    """Lower-cased word tokens; hyphenated compounds split at the hyphen."""
    return _WORD.findall(text.lower())


def analyze(text: str) -> list[str]:
    """Words, stopwords removed, Snowball-Norwegian stemmed: the search vocabulary."""
    return _stemmer().stemWords([w for w in words(text) if w not in STOPWORDS])
