"""The eval report: Markdown + PNGs and a self-contained, escaped HTML page."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from kilde.errors import KildeError
from kilde.eval.aggregate import aggregate
from kilde.eval.gold import Evidence, GoldItem
from kilde.eval.report import load_run, write_items, write_report

EVIL = "<script>alert('x')</script>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _gold() -> list[GoldItem]:
    return [
        GoldItem(
            id="q1",
            question=f"Hvor mange kommuner bruker Helseplattformen? {EVIL}",
            answer="34",
            answer_aliases=("34",),
            evidence=(Evidence("a.txt", "34 kommuner bruker løsningen"),),
            answerable=True,
            type="number",
        ),
        GoldItem(
            id="q2",
            question="Hva er Helseplattformen?",
            answer="en felles pasientjournal",
            answer_aliases=("en felles pasientjournal",),
            evidence=(Evidence("a.txt", "Helseplattformen er en felles pasientjournal"),),
            answerable=True,
            type="definition",
        ),
        GoldItem(
            id="q3",
            question="Hva koster en kaffe i kantina?",
            answer="",
            answer_aliases=(),
            evidence=(),
            answerable=False,
            type="unanswerable",
        ),
    ]


def _score(qid, qtype, *, hit, correct, refused=False, answerable=True, latency=100.0):
    none_if_unans = (lambda v: v) if answerable else (lambda v: None)
    return {
        "id": qid,
        "rank": none_if_unans(1 if hit else None),
        "hit@1": none_if_unans(float(bool(hit))),
        "hit@5": none_if_unans(float(bool(hit))),
        "hit@10": none_if_unans(float(bool(hit))),
        "rr@10": none_if_unans(float(bool(hit))),
        "ndcg@10": none_if_unans(float(bool(hit))),
        "evidence_recall@5": None,
        "correct": none_if_unans(correct),
        "token_f1": none_if_unans(1.0 if correct else 0.0),
        "citation_precision": none_if_unans(1.0 if correct else 0.0),
        "citation_recall": none_if_unans(1.0 if correct else 0.0),
        "verbatim": None,
        "page_correct": None,
        "refused": refused,
        "answerable": answerable,
        "type": qtype,
        "latency_ms": latency,
        "n_evidence": 1 if answerable else 0,
    }


def _pred(qid, answer, retrieved_text, refused=False):
    return {
        "id": qid,
        "question": "",
        "answer": answer,
        "refused": refused,
        "citations": [],
        "retrieved": [
            {
                "file": f"doc{k}.txt",
                "page": k + 1,
                "page_label": None,
                "text": f"{retrieved_text} {k} " + "x" * 300,
                "score": 1.0 - k / 10,
            }
            for k in range(5)
        ],
        "latency_ms": 100.0,
    }


def _runs():
    items = {
        # bm25: q1 right, q2 wrong (and missed), q3 refused as it should be.
        "bm25": [
            _score("q1", "number", hit=True, correct=True),
            _score("q2", "definition", hit=False, correct=False),
            _score("q3", "unanswerable", hit=None, correct=None, refused=True, answerable=False),
        ],
        # hybrid (the main run): q1 wrong although retrieved, q2 right, q3 answered.
        "hybrid": [
            _score("q1", "number", hit=True, correct=False),
            _score("q2", "definition", hit=True, correct=True),
            _score("q3", "unanswerable", hit=None, correct=None, refused=False, answerable=False),
        ],
    }
    runs = {name: aggregate(scores) for name, scores in items.items()}
    preds = {
        "bm25": [
            _pred("q1", "34", "bm25 passage"),
            _pred("q2", "vet ikke", "bm25 passage"),
            _pred("q3", "", "bm25 passage", refused=True),
        ],
        "hybrid": [
            _pred("q1", "Det er <b>35</b> " + "lang " * 100, "Dokument <img src=x onerror=1>"),
            _pred("q2", "en felles pasientjournal", "hybrid passage"),
            _pred("q3", "Kaffen koster 20 kr", "hybrid passage"),
        ],
    }
    return runs, items, preds


def _older_hybrid_run() -> dict[str, list[dict]]:
    """An older hybrid run that had q1 right and q2 wrong."""
    return {
        "hybrid": [
            _score("q1", "number", hit=True, correct=True),
            _score("q2", "definition", hit=False, correct=False),
            _score("q3", "unanswerable", hit=None, correct=None, refused=True, answerable=False),
        ]
    }


def test_report_files_and_content(tmp_path: Path) -> None:
    runs, items, preds = _runs()
    # The older run had q1 right under hybrid: its flip to wrong is a regression.
    old = _older_hybrid_run()
    old_dir = tmp_path / "old"
    write_items(old_dir, old)

    md, page = write_report(
        tmp_path / "new", runs, items, _gold(), preds, compare=(load_run(old_dir), "run-1")
    )
    assert md == tmp_path / "new" / "report.md" and page == tmp_path / "new" / "report.html"
    for name in ("report.md", "report.html", "by_type.png", "variants.png"):
        assert (tmp_path / "new" / name).is_file(), name
    assert (tmp_path / "new" / "by_type.png").read_bytes().startswith(PNG_MAGIC)

    text = page.read_text(encoding="utf-8")
    # Untrusted text is escaped everywhere; the page has no script of its own either.
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "<script" not in text.lower()
    assert "<img src=x" not in text and "&lt;img src=x onerror=1&gt;" in text
    assert "<b>35</b>" not in text
    # Plots are embedded, so the page works when copied alone.
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 2
    assert all(base64.b64decode(img).startswith(PNG_MAGIC) for img in images)
    assert "by_type.png" not in text

    markdown = md.read_text(encoding="utf-8")
    assert "![" in markdown and "(by_type.png)" in markdown and "(variants.png)" in markdown
    assert "<script>" not in markdown

    # Metrics table: one column per variant.
    assert "<th>bm25</th>" in text and "<th>hybrid</th>" in text
    assert "retrieval hit@5" in text

    failed = _section(text, "Failed questions (hybrid)", "Compared with run-1")
    assert "q1" in failed and "wrong answer" in failed
    assert "q3" in failed and "unanswerable not refused" in failed
    assert ">q2<" not in failed  # right in the main run
    assert "doc0.txt p. 1" in failed and "doc2.txt p. 3" in failed
    assert "doc3.txt" not in failed  # only the top 3 retrieved
    assert "x" * 200 not in failed  # passages and answers are clipped

    compare = _section(text, "Compared with run-1", "</body>")
    # q1 lost "correct"; q2 gained both "correct" and "hit@5".
    assert "2 wins, 1 regressions" in compare
    rows = re.findall(r"<tr>(.*?)</tr>", compare)
    regressions = [r for r in rows if "<td>regression</td>" in r]
    assert len(regressions) == 1 and "<td>q1</td>" in regressions[0]
    assert "<td>correct</td>" in regressions[0]
    wins = [r for r in rows if "<td>win</td>" in r]
    assert len(wins) == 2 and all("<td>q2</td>" in r for r in wins)
    # Accuracy went from 0.5 to 0.5 under hybrid, hit@5 from 0.5 to 1.0.
    assert "+0.500" in compare


def test_compare_shows_answer_accuracy_per_question_type(tmp_path: Path) -> None:
    """rules (old) against reader (new), side by side per gold type: n, old, new, delta."""
    runs, items, preds = _runs()
    old = _older_hybrid_run()
    write_items(tmp_path / "rules", old)
    md, page = write_report(
        tmp_path / "reader",
        runs,
        items,
        _gold(),
        preds,
        compare=(load_run(tmp_path / "rules"), "rules"),
    )
    table = _section(
        page.read_text(encoding="utf-8"),
        "Answer accuracy by question type",
        "Per-question wins and regressions",
    )
    rows = {
        cells[0]: cells[1:]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", table)
        )
        if cells
    }
    # hybrid: q1 (number) right before, wrong now; q2 (definition) wrong before, right now.
    assert rows["number"] == ["1", "1.000", "0.000", "-1.000"]
    assert rows["definition"] == ["1", "0.000", "1.000", "+1.000"]
    assert "hybrid old" in table and "hybrid Δ" in table
    assert "Answer accuracy by question type" in md.read_text(encoding="utf-8")


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_single_run_has_no_variant_chart(tmp_path: Path) -> None:
    runs, items, preds = _runs()
    one = {"bm25": runs["bm25"]}
    md, page = write_report(
        tmp_path, one, {"bm25": items["bm25"]}, _gold(), {"bm25": preds["bm25"]}
    )
    assert not (tmp_path / "variants.png").exists()
    text = page.read_text(encoding="utf-8")
    assert "<th>value</th>" in text
    failed = _section(text, "Failed questions (bm25)", "</body>")
    assert "q2" in failed and "miss at hit@5" in failed and ">q1<" not in failed


def test_items_round_trip(tmp_path: Path) -> None:
    _, items, _ = _runs()
    path = write_items(tmp_path, items)
    assert path == tmp_path / "items.jsonl"
    assert load_run(tmp_path) == items
    assert load_run(path) == items


def test_load_run_errors(tmp_path: Path) -> None:
    with pytest.raises(KildeError, match="earlier eval run"):
        load_run(tmp_path)
    (tmp_path / "items.jsonl").write_text('{"id": "q1"}\n', encoding="utf-8")
    with pytest.raises(KildeError, match="line 1"):
        load_run(tmp_path)


def test_unknown_type_page_and_line_accuracy_and_evidence_places(tmp_path: Path) -> None:
    gold = [
        GoldItem("q1", "Stemmer det?", "ja", ("ja",), (Evidence("a.pdf", "ja"),), True, "yes_no"),
        GoldItem("q2", "Hvor?", "her", ("her",), (Evidence("b.txt", "her"),), True, "entity"),
    ]
    scores = [
        {**_score("q1", "yes_no", hit=True, correct=True), "page_correct": 0.5},
        {**_score("q2", "entity", hit=True, correct=True), "line_correct": 1.0},
    ]
    scores[0]["evidence_at"] = ["a.pdf p. 3 (printed 1)"]
    runs = {"hybrid": aggregate(scores)}
    preds = {"hybrid": [_pred("q1", "ja", "p"), _pred("q2", "her", "p")]}
    _, page = write_report(tmp_path, runs, {"hybrid": scores}, gold, preds)
    text = page.read_text(encoding="utf-8")

    by_type = _section(text, "By question type", "Failed questions")
    assert "<td>yes_no</td>" in by_type and "<td>entity</td>" in by_type
    metrics = _section(text, "Metrics", "By question type")
    assert re.search(r"citation page accuracy</td><td[^>]*>0\.500<", metrics)
    assert re.search(r"citation line accuracy</td><td[^>]*>1\.000<", metrics)
    failed = _section(text, "Failed questions", "</body>")
    # Right answer, but half of its page citations point at the wrong page.
    assert "wrong page (0.50)" in failed and "a.pdf p. 3 (printed 1)" in failed
    # The gold file gave no page for q1's quote; the report says where it was found.
    assert "Evidence pages found by search (not stated in the gold file): q1: a.pdf p. 3" in text
    assert ">q2<" not in failed


def test_an_older_run_keyed_by_retriever_still_loads_for_compare(tmp_path: Path) -> None:
    (tmp_path / "items.jsonl").write_text(
        '{"retriever": "hybrid", "id": "q1", "correct": true}\n'
        '{"variant": "baseline", "id": "q1", "correct": false}\n',
        encoding="utf-8",
    )
    run = load_run(tmp_path)
    assert run == {
        "hybrid": [{"id": "q1", "correct": True}],
        "baseline": [{"id": "q1", "correct": False}],
    }
