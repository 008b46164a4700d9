"""The statements gold set of the source check: its shape, its splits, and that every quote
stands in its corpus file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from kilde.eval.statements import load_statements
from kilde.ingest.readers import read_source
from kilde.text import squash
from kilde.text.figures import extract_figures

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold" / "statements.jsonl"


def test_gold_has_every_status_in_both_splits():
    gold = load_statements(GOLD)
    assert len(gold) >= 80 and len({g.id for g in gold}) == len(gold)
    by_split = Counter(g.split for g in gold)
    assert abs(by_split["dev"] - by_split["test"]) <= len(gold) * 0.15
    pairs = Counter((g.status, g.split) for g in gold)
    assert all(
        pairs[(s, split)] >= 10
        for s in ("supported", "mismatch", "not_found")
        for split in ("dev", "test")
    )
    assert sum(g.kind == "near_miss" for g in gold) >= 15


def test_quotes_stand_in_their_files_and_mismatches_name_figures():
    corpus = ROOT / "corpus"
    texts = {
        p.name: squash(" ".join(page.text for page in read_source(p, p.name).pages))
        for p in corpus.glob("*.txt")
    }
    for item in load_statements(GOLD):
        if item.status == "not_found":
            assert item.file is None and not item.mismatches
            continue
        for file, quote in item.sources():
            assert squash(quote) in texts[file], item.id
        if item.status == "mismatch":
            assert item.mismatches, item.id
            for draft, source in item.mismatches:
                assert draft in item.statement and extract_figures(draft), item.id
                assert squash(source) in texts[item.file] or source in squash(item.quote)
