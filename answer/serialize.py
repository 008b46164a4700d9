"""The JSON form of an answer: a contract read by outside scorers (``kilde ask --json`` and
eval's predictions.jsonl). Field names here must not change."""

from __future__ import annotations

from kilde.types import Answer, Citation, Retrieved


def citation_to_dict(citation: Citation) -> dict:
    row = {
        "file": citation.file,
        "title": citation.title,
        "page": citation.page,
        "page_label": citation.page_label,
        "quote": citation.quote,
        "reference": citation.reference,
        "ocr": citation.ocr,
    }
    if citation.page is None:  # lines may be null (a Word file has none); heading null if unsure
        row.update(
            line_start=citation.line_start, line_end=citation.line_end, heading=citation.heading
        )
    return row


def retrieved_to_dict(hit: Retrieved) -> dict:
    return {
        "file": hit.chunk.file,
        "page": hit.chunk.page,
        "page_label": hit.chunk.page_label,
        "text": hit.chunk.text,
        "score": round(float(hit.score), 6),
        "ocr": hit.chunk.ocr,
    }


def answer_to_dict(answer: Answer) -> dict:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": [citation_to_dict(c) for c in answer.citations],
        "retrieved": [retrieved_to_dict(r) for r in answer.retrieved],
        "latency_ms": round(answer.latency_ms, 3),
        "answerer": answer.answerer,
        "dropped_claims": answer.dropped_claims,
        # Added with follow-ups read against earlier turns: the text that was searched (the
        # question itself unless it was read as a follow-up).
        "search_query": answer.search_query,
        # Added with the reader's refusal head: why it was refused, null when answered
        # (kilde.types.REFUSAL_REASONS: language, coverage, missing_detail, refusal_head,
        # no_answer, unverified).
        "refusal_reason": answer.refusal_reason or None,
    }
