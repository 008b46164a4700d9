"""Norwegian text rules in one place: the search analyzer (stemming, stopwords), word lists
(abbreviations, months, question words), the sentence splitter, the one span-locator, and the
one location label ("s. 12" / "linje 40–44").

Cleaning (``kilde.ingest.clean``), chunking, answering, follow-ups and the NorQuAD adapter all
take their rules from here, so that a full stop means the same thing to each of them.
"""

from .analyzer import analyze, words
from .lexicon import ABBREVIATIONS, MONTHS
from .sentences import sentence_spans
from .spans import locate, location_label, squash

__all__ = [
    "ABBREVIATIONS",
    "MONTHS",
    "analyze",
    "locate",
    "location_label",
    "sentence_spans",
    "squash",
    "words",
]
