"""Feedback from the chat: stored one line per vote under a lock, exported as gold items."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pdfs import make_pdf  # tests/pdfs.py

from kilde.app.cli import main
from kilde.app.feedback import (
    DOWN,
    UP,
    append_feedback,
    export_gold,
    feedback_counts,
    feedback_path,
    feedback_record,
    load_feedback,
)
from kilde.eval.gold import Evidence, load_gold, validate_gold
from kilde.types import Answer, Citation

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    make_pdf(
        d / "rapport.pdf",
        ["Forord", "Tilskuddet utgjør 39 200 kroner per kommune i 2024."],
        labels=["i", "1"],
    )
    (d / "notat.txt").write_text(
        "Notat\n\nOrdningen ble innført 1. mars 2023.\nDen evalueres i 2026.\n", "utf-8"
    )
    return d


def cite(file: str, quote: str, page: int | None) -> Citation:
    return Citation(file, file, page, None if page is None else str(page - 1), quote, "ref")


def answer(question: str, text: str, *citations: Citation, refused: bool = False) -> Answer:
    return Answer(question=question, answer=text, refused=refused, citations=citations)


def test_a_vote_is_one_line_with_answer_citations_correction_generation_and_time(tmp_path):
    shown = answer("Hvor mye?", "Det er 40 000 kroner.", cite("rapport.pdf", "40 000", 2))
    record = feedback_record(shown, DOWN, "gen-1", " 39 200 kroner ", "utgjør 39 200 kroner")
    append_feedback(tmp_path, record)
    append_feedback(tmp_path, feedback_record(shown, UP, "gen-2"))
    assert feedback_path(tmp_path).read_text("utf-8").count("\n") == 2
    first, second = load_feedback(tmp_path)
    assert first["question"] == "Hvor mye?" and first["answer"] == "Det er 40 000 kroner."
    assert first["citations"][0]["file"] == "rapport.pdf" and first["citations"][0]["page"] == 2
    assert first["correction"] == {"answer": "39 200 kroner", "quote": "utgjør 39 200 kroner"}
    assert first["generation"] == "gen-1" and first["time"].startswith("20")
    assert second["vote"] == UP and second["correction"] is None
    assert feedback_counts(tmp_path) == {UP: 1, DOWN: 1, "corrected": 1}


def test_export_makes_gold_items_that_validate(tmp_path, corpus):
    votes = [
        # 👎 with the right answer and a quote from the PDF: found on physical page 2.
        (answer("Hvor stort er tilskuddet?", "Ukjent.", cite("notat.txt", "Notat", None)), DOWN,
         "39 200 kroner", "Tilskuddet utgjør 39 200 kroner"),
        # 👎 whose quote is in no document: left out.
        (answer("Hvem?", "Ingen."), DOWN, "Kommunen", "Kommunen bestemmer alt"),
        # 👎 without a correction: left out.
        (answer("Hva?", "Noe."), DOWN, "", ""),
        # 👍 with citations that verify (text lines; PDF physical page).
        (answer("Når ble ordningen innført?", "Ordningen ble innført 1. mars 2023.",
                cite("notat.txt", "Ordningen ble innført 1. mars 2023.", None),
                cite("rapport.pdf", "39 200 kroner per kommune", 2)), UP, "", ""),
        # 👍 whose citation gives the printed label (1) as its page: does not verify.
        (answer("Hvor mye per kommune?", "39 200 kroner.",
                cite("rapport.pdf", "39 200 kroner per kommune", 1)), UP, "", ""),
        # 👍 on a refusal: the documents do not say.
        (answer("Hva koster kaffen?", "Jeg fant ikke svar.", refused=True), UP, "", ""),
    ]  # fmt: skip
    index = tmp_path / "index"
    for shown, vote, right, quote in votes:
        append_feedback(index, feedback_record(shown, vote, "gen-1", right, quote))

    out = tmp_path / "feedback-gold.jsonl"
    result = export_gold(index, corpus, out)
    items = load_gold(out)
    assert items == result.items
    assert [g.question for g in items] == [
        "Hvor stort er tilskuddet?",
        "Når ble ordningen innført?",
        "Hva koster kaffen?",
    ]
    corrected, confirmed, refusal = items
    assert corrected.answer_aliases == ("39 200 kroner",) and corrected.type == "feedback"
    assert corrected.evidence == (Evidence("rapport.pdf", "Tilskuddet utgjør 39 200 kroner", 2),)
    assert [e.file for e in confirmed.evidence] == ["notat.txt", "rapport.pdf"]
    assert not refusal.answerable and refusal.type == "unanswerable"
    assert validate_gold(items, corpus) == []
    assert len(result.skipped) == 3
    assert any("«Hvem?»" in s and "not found" in s for s in result.skipped)
    assert any("«Hvor mye per kommune?»" in s and "verify" in s for s in result.skipped)


def test_export_command(tmp_path, corpus, capsys):
    index = tmp_path / "index"
    shown = answer("Når?", "Ukjent.")
    append_feedback(index, feedback_record(shown, DOWN, None, "1. mars 2023", "innført 1. mars"))
    out = tmp_path / "gold.jsonl"
    argv = ["feedback", "export", "--index", str(index), "--corpus", str(corpus)]
    assert main([*argv, "--out", str(out)]) == 0
    assert "1 gullspørsmål skrevet" in capsys.readouterr().out
    assert load_gold(out)[0].evidence == (Evidence("notat.txt", "innført 1. mars"),)
    # No feedback yet: one Norwegian line, no traceback.
    assert main(["feedback", "export", "--index", str(tmp_path / "x"), "--out", str(out)]) == 1
    assert "ingen tilbakemeldinger" in capsys.readouterr().err


WRITER = """
import sys
from kilde.app.feedback import append_feedback
index, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
padding = name * 20000  # lines far larger than one write of a pipe or a page
for i in range(n):
    append_feedback(index, {"vote": "up", "question": f"{name}-{i}", "answer": padding})
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    n = 150
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name, str(n)])
        for name in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    lines = feedback_path(tmp_path).read_bytes().decode("utf-8").splitlines()
    assert len(lines) == 2 * n
    records = [json.loads(line) for line in lines]  # every line whole
    assert sorted(r["question"] for r in records) == sorted(
        f"{name}-{i}" for name in ("a", "b") for i in range(n)
    )
    assert all(len(r["answer"]) == 20000 for r in records)
