"""Scores of kilde's answers against the gold set: retrieval, answers, citations, refusals.

Pure functions over the gold items and the prediction dicts of predictions.jsonl. The text of
a cited page is only needed to judge verbatim quotes and page numbers; it comes in through
a ``page_text(file, page)`` callable so that this module does no I/O of its own; where the
gold quotes stand (pages, file lines) comes in as ``locations`` from ``gold.locate_evidence``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kilde.errors import KildeError
from kilde.eval.aggregate import aggregate, mean_present
from kilde.eval.evidence import chunk_holds, normalize, overlaps, quote_on_page, words
from kilde.ingest.linemap import quote_in_lines

if TYPE_CHECKING:
    from kilde.eval.gold import Evidence, GoldItem
    from kilde.eval.sources import QuoteLocation

PageText = Callable[[str, int | None], str | None]
# For each evidence of an item, the places its quote stands.
EvidenceLocations = tuple[tuple["QuoteLocation", ...], ...]
# For one citation, each gold quote it quotes with the places that quote stands.
QuotedAt = list[tuple["Evidence", tuple["QuoteLocation", ...]]]
FileLines = Callable[[str], Sequence[str] | None]  # a source file's lines, as stored

MAX_ANSWER_CHARS = 600
"""A longer answer is not counted correct: it could hold an alias by listing everything."""

_RETRIEVAL_FIELDS = ("rank", "hit@1", "hit@5", "hit@10", "rr@10", "ndcg@10", "evidence_recall@5")
_ANSWER_FIELDS = ("correct", "token_f1")
_CITATION_FIELDS = (
    "citation_precision",
    "citation_recall",
    "verbatim",
    "page_correct",
    "line_correct",
)

# A space between a digit and a group of three digits is a thousands separator: "39 200".
_THOUSANDS_SPACE = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")


# --- answers -------------------------------------------------------------------------------


def _join_thousands(text: str) -> str:
    return _THOUSANDS_SPACE.sub("", text)


def _contains_alias(text: str, alias: str) -> bool:
    """Whether normalised ``alias`` occurs in normalised ``text``.

    Numbers are compared without their thousands spaces ("39 200" == "39200"), and a number
    must not run on into more digits: "200" is not found in "1200" or in "39 200".
    """
    text, alias = _join_thousands(normalize(text)), _join_thousands(normalize(alias))
    if not alias:
        return False
    start = text.find(alias)
    while start != -1:
        end = start + len(alias)
        digit_before = alias[0].isdigit() and start > 0 and text[start - 1].isdigit()
        digit_after = alias[-1].isdigit() and end < len(text) and text[end].isdigit()
        if not digit_before and not digit_after:
            return True
        start = text.find(alias, start + 1)
    return False


def _aliases(gold: GoldItem) -> tuple[str, ...]:
    return tuple(gold.answer_aliases) or (gold.answer,)


def answer_correct(gold: GoldItem, answer: str, refused: bool) -> bool:
    """Not refused, at most ``MAX_ANSWER_CHARS`` long, and holds one of the gold aliases."""
    if refused or len(answer) > MAX_ANSWER_CHARS:
        return False
    return any(_contains_alias(answer, alias) for alias in _aliases(gold))


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style F1 over the bags of normalised words of the two texts."""
    pred_tokens, ref_tokens = words(prediction), words(reference)
    if not pred_tokens or not ref_tokens:
        return float(pred_tokens == ref_tokens)
    common = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


# --- retrieval -----------------------------------------------------------------------------


def _retrieval_scores(gold: GoldItem, retrieved: list[dict]) -> dict[str, Any]:
    # For each retrieved chunk, the evidence quotes (by index) it holds from its own file.
    held: list[set[int]] = [
        {
            i
            for i, ev in enumerate(gold.evidence)
            if ev.file == chunk.get("file") and chunk_holds(chunk.get("text") or "", ev.quote)
        }
        for chunk in retrieved
    ]
    rank = next((pos + 1 for pos, found in enumerate(held) if found), None)

    # Binary gain, but only for a chunk that brings an evidence quote no higher chunk held:
    # chunks overlap, and counting the same quote twice would push nDCG above 1.
    dcg, seen = 0.0, set()
    for pos, found in enumerate(held[:10]):
        if found - seen:
            dcg += 1 / math.log2(pos + 2)
        seen |= found
    ideal = sum(1 / math.log2(pos + 2) for pos in range(min(len(gold.evidence), 10)))

    top5 = set().union(*held[:5]) if held else set()
    n_evidence = len(gold.evidence)
    return {
        "rank": rank,
        "hit@1": float(rank is not None and rank <= 1),
        "hit@5": float(rank is not None and rank <= 5),
        "hit@10": float(rank is not None and rank <= 10),
        "rr@10": 1 / rank if rank is not None and rank <= 10 else 0.0,
        "ndcg@10": dcg / ideal if ideal else None,
        "evidence_recall@5": len(top5) / n_evidence if n_evidence else None,
    }


# --- citations -----------------------------------------------------------------------------


class _Pages:
    """Memoised page lookups, with quotes allowed to run across a page break."""

    def __init__(self, page_text: PageText) -> None:
        self._page_text = page_text
        self._cache: dict[tuple[str, int | None], str | None] = {}

    def text(self, file: str, page: int | None) -> str | None:
        if page is not None and page < 1:
            return None
        key = (file, page)
        if key not in self._cache:
            self._cache[key] = self._page_text(file, page)
        return self._cache[key]

    def _spans(self, quote: str, file: str, first: int) -> bool:
        """The quote starts on page ``first`` and ends on the next one."""
        this, following = self.text(file, first), self.text(file, first + 1)
        if this is None or following is None:
            return False
        return (
            quote_on_page(quote, this + "\n" + following)
            and not quote_on_page(quote, this)
            and not quote_on_page(quote, following)
        )

    def starts_on(self, quote: str, file: str, page: int | None) -> bool:
        """The quote stands on the page, or starts there and runs on to the next one
        (a citation gives the page where its quote starts)."""
        text = self.text(file, page)
        if text is not None and quote_on_page(quote, text):
            return True
        return page is not None and self._spans(quote, file, page)

    def touches(self, quote: str, file: str, page: int | None) -> bool:
        """Some of the quote stands on the page: wholly, or across a break either side."""
        if self.starts_on(quote, file, page):
            return True
        return page is not None and self._spans(quote, file, page - 1)


def citation_correct(gold: GoldItem, citation: dict) -> bool:
    quote = citation.get("quote") or ""
    same_file = [ev for ev in gold.evidence if ev.file == citation.get("file")]
    if not same_file:
        return False
    if any(overlaps(quote, ev.quote) for ev in same_file):
        return True
    return any(_contains_alias(quote, alias) for alias in _aliases(gold))


def _on_located_page(page: int, locations: tuple[QuoteLocation, ...]) -> bool:
    return any(loc.page is not None and loc.page <= page <= loc.page_end for loc in locations)


def _on_lines(citation: dict, places: QuotedAt) -> bool | None:
    """Whether the cited file lines overlap the lines of a gold quote the citation quotes;
    None when it quotes none with known lines."""
    first, last = citation["line_start"], citation.get("line_end") or citation["line_start"]
    spans = [
        (loc.line_start, loc.line_end)
        for _, where in places
        for loc in where
        if loc.line_start is not None
    ]
    if not spans:
        return None
    return any(start <= last and first <= end for start, end in spans)


def _citation_scores(
    gold: GoldItem,
    citations: list[dict],
    page_text: PageText | None,
    located: EvidenceLocations | None = None,
) -> dict[str, Any]:
    correct = [citation_correct(gold, citation) for citation in citations]
    recall = mean_present(
        any(
            citation.get("file") == ev.file and overlaps(citation.get("quote") or "", ev.quote)
            for citation in citations
        )
        for ev in gold.evidence
    )
    scores: dict[str, Any] = {
        "citation_precision": mean_present(correct),
        "citation_recall": recall,
        "verbatim": None,
        "page_correct": None,
        "line_correct": None,
    }
    if not citations:
        return scores
    located = located or tuple(() for _ in gold.evidence)
    # Per gold quote that the citation quotes: where it stands, as the gold set locates it.
    # A citation that is right by the answer alone ("34 av 67 kommuner" in another
    # sentence) stands elsewhere; the gold quote's place says nothing of its page or lines,
    # and `verbatim` checks that its quote stands on its page.
    evidence_at = [
        [
            (ev, where)
            for ev, where in zip(gold.evidence, located, strict=True)
            if ev.file == c.get("file") and overlaps(c.get("quote") or "", ev.quote)
        ]
        for c in citations
    ]
    scores["line_correct"] = mean_present(
        _on_lines(citation, places)
        for citation, places, ok in zip(citations, evidence_at, correct, strict=True)
        if ok and citation.get("line_start") is not None
    )
    if page_text is None:
        if any(loc.page is not None for where in located for loc in where):
            scores["page_correct"] = _page_scores(citations, correct, evidence_at, None)
        return scores

    pages = _Pages(page_text)
    scores["verbatim"] = mean_present(
        pages.starts_on(citation.get("quote") or "", citation.get("file"), citation.get("page"))
        for citation in citations
    )
    scores["page_correct"] = _page_scores(citations, correct, evidence_at, pages)
    return scores


def _page_scores(
    citations: list[dict],
    correct: list[bool],
    evidence_at: list[QuotedAt],
    pages: _Pages | None,
) -> float | None:
    """Of the correct citations with a page that quote a gold quote: the share whose page
    holds it. A gold quote with a known place (stated or found page) is judged by it; else by
    the page text, where the quote may also run across a page break."""

    def on_page(citation: dict, places: QuotedAt) -> bool | None:
        page = citation["page"]
        verdicts = []
        for ev, where in places:
            if any(loc.page is not None for loc in where):
                verdicts.append(_on_located_page(page, where))
            elif pages is not None:
                verdicts.append(pages.touches(ev.quote, ev.file, page))
        return any(verdicts) if verdicts else None

    return mean_present(
        on_page(citation, places)
        for citation, places, ok in zip(citations, evidence_at, correct, strict=True)
        if ok and citation.get("page") is not None
    )


def share_of_lines_holding_quote(citations: list[dict], file_lines: FileLines) -> float | None:
    """Share of the citations with file lines whose quote stands within the cited lines
    (whitespace and line-end hyphens aside); None when no citation names lines. This is
    ``lines_hold_quote``: it checks the citation against the file, whatever the gold says;
    ``line_accuracy`` instead asks whether the cited lines hold the gold evidence."""
    checked = []
    for citation in citations:
        first, last = citation.get("line_start"), citation.get("line_end")
        lines = file_lines(citation.get("file") or "") if first and last else None
        if lines is not None:
            checked.append(quote_in_lines(citation.get("quote") or "", lines[first - 1 : last]))
    return mean_present(checked)


# --- per item ------------------------------------------------------------------------------


def score_item(
    gold: GoldItem,
    pred: dict,
    page_text: PageText | None = None,
    located: EvidenceLocations | None = None,
    file_lines: FileLines | None = None,
) -> dict:
    """Scores of one prediction against its gold item.

    Retrieval, answer and citation fields are None for an unanswerable item; there only
    ``refused`` matters. ``n_evidence`` is kept so that aggregates can pick multi-quote items.
    """
    refused = bool(pred.get("refused"))
    scores: dict[str, Any] = {
        "refused": refused,
        "answerable": gold.answerable,
        "type": gold.type,
        "latency_ms": pred.get("latency_ms"),
        "n_evidence": len(gold.evidence),
        # What the answerer claimed: sentences shown (one citation each) and dropped unverified.
        "dropped_claims": int(pred.get("dropped_claims") or 0),
        "shown_claims": len(pred.get("citations") or []),
        "answerer": pred.get("answerer") or "",
        "refusal_reason": pred.get("refusal_reason") or None,  # which stage refused it
    }
    if located is not None:
        # Where the gold quotes stand, for the report: "a.pdf p. 3 (printed 1)".
        scores["evidence_at"] = [
            f"{ev.file} " + ("; ".join(loc.describe() for loc in where) or "?")
            for ev, where in zip(gold.evidence, located, strict=True)
        ]
    # Every citation shown is checked, whether or not the question had an answer.
    citations = list(pred.get("citations") or [])
    scores["lines_hold_quote"] = (
        share_of_lines_holding_quote(citations, file_lines) if file_lines else None
    )
    if not gold.answerable:
        for name in (*_RETRIEVAL_FIELDS, *_ANSWER_FIELDS, *_CITATION_FIELDS):
            scores[name] = None
        return scores

    answer = pred.get("answer") or ""
    scores.update(_retrieval_scores(gold, list(pred.get("retrieved") or [])))
    scores["correct"] = answer_correct(gold, answer, refused)
    # A refusal gives no answer, whatever words its stock sentence shares with the gold one.
    scores["token_f1"] = 0.0 if refused else token_f1(answer, gold.answer)
    citations = list(pred.get("citations") or [])
    scores.update(_citation_scores(gold, citations, page_text, located))
    return scores


def evaluate(
    gold: list[GoldItem],
    preds: list[dict],
    page_text: PageText | None = None,
    locations: dict[str, EvidenceLocations] | None = None,
    file_lines: FileLines | None = None,
) -> tuple[dict, list[dict]]:
    """Score every gold item against the prediction with its id; ``locations`` (item id ->
    where each evidence quote stands) judge cited pages and file lines.

    Predictions for ids not in ``gold`` are ignored, so a subset of the gold set can be
    scored against a full run. Returns the aggregate and the per-item scores with ``id``.
    """
    by_id: dict[str, dict] = {}
    for pred in preds:
        pred_id = str(pred.get("id"))
        if pred_id in by_id:
            raise KildeError(f"Two predictions for gold item {pred_id!r}; keep one of them.")
        by_id[pred_id] = pred

    missing = [item.id for item in gold if item.id not in by_id]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise KildeError(
            f"No prediction for gold item {missing[0]!r}{more}; "
            "run the predictions again for the whole gold set."
        )

    locations = locations or {}
    items = [
        {
            "id": item.id,
            **score_item(
                item, by_id[item.id], page_text, locations.get(item.id), file_lines=file_lines
            ),
        }
        for item in gold
    ]
    return aggregate(items), items
