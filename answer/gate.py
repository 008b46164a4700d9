"""The evidence gate: refuse when the documents cover too little of the question, or when
the answer's passages do not name what the question is about.

With no model that reads the text, refusal is decided from the question's idf-weighted
stemmed terms before answering (``unknown``: the share no document has at all; ``coverage``:
the largest share one of the top passages holds), and after drafting from the question's
names and years, which a passage the answer comes from must name (docs/tuning.md,
"Refusal").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kilde.config import GateSettings
from kilde.text import analyze
from kilde.text.details import missing_details
from kilde.text.patterns import YEAR
from kilde.types import Chunk, Draft, Retrieved, Span


@dataclass(frozen=True)
class Evidence:
    unknown: float  # share of the question's weight that no document has
    coverage: float  # largest share of it that one top passage holds
    refuse: bool


def term_weight(idf: Mapping[str, float], term: str) -> float:
    """idf of ``term``; a term no chunk has weighs as much as the rarest possible one."""
    return idf.get(term, idf.get("", 1.0))


def detail_text(chunk: Chunk) -> str:
    """What the detail check reads of a passage: its title, heading and text."""
    return f"{chunk.title}\n{chunk.heading or ''}\n{chunk.text}"


class EvidenceGate:
    """Pipeline stage: go on to the answerer, or refuse."""

    def __init__(self, idf: Mapping[str, float], settings: GateSettings, passages: int):
        self.idf = idf
        self.settings = settings
        self.passages = passages  # how many top passages may hold the answer

    def check(self, query: str, retrieved: Sequence[Retrieved]) -> Evidence:
        terms = set(analyze(query))
        total = sum(term_weight(self.idf, t) for t in terms) or 1.0
        unknown = sum(term_weight(self.idf, t) for t in terms if t not in self.idf) / total
        coverage = 0.0
        for hit in retrieved[: self.passages]:
            held = terms & set(analyze(hit.chunk.text))
            coverage = max(coverage, sum(term_weight(self.idf, t) for t in held) / total)
        refuse = (
            unknown >= self.settings.refuse_unknown_share
            or coverage < self.settings.refuse_min_coverage
        )
        return Evidence(unknown=unknown, coverage=coverage, refuse=refuse)

    def admits(self, query: str, draft: Draft, question: str | None = None) -> bool:
        """Whether a drafted answer may stand.

        With ``refuse_missing_detail``, every name and year of the user's own ``question``
        (``query`` when not given) must stand in a passage the answer comes from, its title
        or heading: a passage on Helse Nord-Trøndelag does not answer a question on Helse
        Nord. A follow-up's resolved query is not used, since it carries the earlier
        question's names, which the new answer need not repeat.

        With ``refuse_missing_year`` (off by default), a question that names a year ("... i
        2025?") needs that year in one of the answer's sentences or just above it. It helped
        on train/data, not on the held-out test (docs/tuning.md, Refusal)."""
        if self.settings.refuse_missing_detail:
            passages = {s.chunk.chunk_id: detail_text(s.chunk) for s in draft.spans}
            if missing_details(question or query, passages.values()):
                return False
        if not self.settings.refuse_missing_year:
            return True
        asked = set(YEAR.findall(query))
        return not asked or any(asked & set(YEAR.findall(_with_lead(span))) for span in draft.spans)


LEAD_CHARS = 200  # a table's year stands in its heading or first row, above the figure


def _with_lead(span: Span) -> str:
    """The span's text with the text just before it in its chunk."""
    at = span.start - span.chunk.start
    return span.chunk.text[max(0, at - LEAD_CHARS) : max(0, at)] + " " + span.text


class OpenGate:
    """A gate that never refuses (the naive baseline has none)."""

    def check(self, query: str, retrieved: Sequence[Retrieved]) -> Evidence:
        return Evidence(unknown=0.0, coverage=1.0, refuse=False)

    def admits(self, query: str, draft: Draft, question: str | None = None) -> bool:
        return True
