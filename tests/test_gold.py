"""The gold evaluation set is valid against the corpus, and the validator catches errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilde.errors import KildeError
from kilde.eval.gold import (
    TYPES,
    Evidence,
    GoldItem,
    load_gold,
    select_split,
    validate_gold,
    write_gold,
)

ROOT = Path(__file__).parents[1]
GOLD = ROOT / "eval" / "gold" / "kilde.jsonl"
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="module")
def gold() -> list[GoldItem]:
    return load_gold(GOLD)


def test_gold_set_is_valid(gold):
    assert validate_gold(gold, CORPUS) == []


def test_gold_set_counts(gold):
    assert len(gold) >= 60
    unanswerable = [g for g in gold if not g.answerable]
    assert len(unanswerable) >= 10
    assert all(g.type == "unanswerable" for g in unanswerable)
    multi = [g for g in gold if len(g.evidence) >= 2]
    assert len(multi) >= 8
    # Some items must combine passages from two different documents.
    assert sum(len({e.file for e in g.evidence}) >= 2 for g in gold) >= 5
    assert {g.type for g in gold} == set(TYPES)


def test_gold_set_uses_every_corpus_file(gold):
    used = {e.file for g in gold for e in g.evidence}
    corpus_files = {p.name for p in CORPUS.glob("*.txt")}
    assert corpus_files, "corpus folder is empty"
    assert used == corpus_files


def test_gold_ids_follow_pattern(gold):
    for g in gold:
        assert g.id[:3] in ("hp-", "ht-") and g.id[3:].isdigit(), g.id


# --- unit tests on small files ---------------------------------------------------------


def _item(**overrides) -> dict:
    obj = {
        "id": "t-001",
        "question": "Hvor mange kommuner?",
        "answer": "34 kommuner.",
        "answer_aliases": ["34 kommuner"],
        "evidence": [{"file": "doc.txt", "quote": "34 kommuner bruker løsningen"}],
        "answerable": True,
        "type": "number",
    }
    obj.update(overrides)
    return obj


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "doc.txt").write_text(
        "Helseplattformen: 34 kommuner bruker løsningen. \n\nNeste linje.\n", encoding="utf-8"
    )
    return d


def _write_jsonl(path: Path, objs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), "utf-8")
    return path


def test_valid_small_set_passes(tmp_path, corpus):
    unans = _item(
        id="t-002", answer="", answer_aliases=[], evidence=[], answerable=False, type="unanswerable"
    )
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(), unans]))
    assert len(items) == 2
    assert items[0].evidence == (Evidence(file="doc.txt", quote="34 kommuner bruker løsningen"),)
    assert validate_gold(items, corpus) == []


def test_validator_catches_bad_quote(tmp_path, corpus):
    bad = _item(evidence=[{"file": "doc.txt", "quote": "35 kommuner bruker løsningen"}])
    problems = validate_gold(load_gold(_write_jsonl(tmp_path / "g.jsonl", [bad])), corpus)
    assert len(problems) == 1
    assert "t-001" in problems[0] and "quote not found" in problems[0]


def test_validator_matches_quotes_whitespace_and_case_aside(tmp_path, corpus):
    # The raw text has " \n\n" between the lines: a quote typed from the printed page
    # has a plain space there, as a quote from a PDF has.
    ok = _item(evidence=[{"file": "doc.txt", "quote": "løsningen.  Neste\tlinje."}])
    assert validate_gold(load_gold(_write_jsonl(tmp_path / "g.jsonl", [ok])), corpus) == []
    # ... but the words must all be there.
    bad = _item(evidence=[{"file": "doc.txt", "quote": "løsningen. Neste side."}])
    problems = validate_gold(load_gold(_write_jsonl(tmp_path / "g.jsonl", [bad])), corpus)
    assert problems and "quote not found" in problems[0]


def test_validator_catches_missing_file(tmp_path, corpus):
    bad = _item(evidence=[{"file": "nope.txt", "quote": "34 kommuner"}])
    problems = validate_gold(load_gold(_write_jsonl(tmp_path / "g.jsonl", [bad])), corpus)
    assert problems and "not found" in problems[0] and "nope.txt" in problems[0]


def test_validator_catches_duplicate_id(tmp_path, corpus):
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(), _item()]))
    problems = validate_gold(items, corpus)
    assert problems == ["t-001: duplicate id"]


def test_validator_accepts_an_unknown_type_but_not_an_empty_one(tmp_path, corpus):
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(type="yes_no")]))
    assert validate_gold(items, corpus) == []
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(type=" ")]))
    problems = validate_gold(items, corpus)
    assert len(problems) == 1 and "t-001: empty type" in problems[0]


def test_validator_checks_unanswerable_rules(tmp_path, corpus):
    wrong = [
        # answerable=false but typed as a number, with evidence and aliases left in
        _item(id="u-1", answerable=False),
        # typed unanswerable but marked answerable
        _item(id="u-2", type="unanswerable", evidence=[], answer_aliases=[]),
    ]
    problems = validate_gold(load_gold(_write_jsonl(tmp_path / "g.jsonl", wrong)), corpus)
    joined = "\n".join(problems)
    assert "u-1: answerable is false but type is 'number'" in joined
    assert "u-1: unanswerable item has evidence" in joined
    assert "u-2: type 'unanswerable' but answerable is true" in joined


def test_validator_requires_alias_and_evidence_for_answerable(tmp_path, corpus):
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(answer_aliases=[], evidence=[])]))
    problems = validate_gold(items, corpus)
    assert "t-001: answerable item has no answer alias" in problems
    assert "t-001: answerable item has no evidence" in problems


def test_load_rejects_unknown_key(tmp_path):
    path = _write_jsonl(tmp_path / "g.jsonl", [_item(), _item(id="t-002", page=3)])
    with pytest.raises(KildeError) as exc:
        load_gold(path)
    msg = str(exc.value)
    assert "g.jsonl:2" in msg and "unknown key" in msg and "page" in msg
    assert "\n" not in msg


def test_load_rejects_unknown_evidence_key(tmp_path):
    ev = [{"file": "doc.txt", "quote": "34 kommuner", "line": 1}]
    with pytest.raises(KildeError, match=r"g\.jsonl:1: evidence has unknown key"):
        load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(evidence=ev)]))


@pytest.mark.parametrize("page", [0, -1, "3", 2.5, True])
def test_load_rejects_a_bad_evidence_page(tmp_path, page):
    ev = [{"file": "doc.pdf", "quote": "34 kommuner", "page": page}]
    with pytest.raises(KildeError, match=r"g\.jsonl:1: evidence page must be a page number"):
        load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(evidence=ev)]))


def test_load_rejects_missing_key(tmp_path):
    obj = _item()
    del obj["answerable"]
    with pytest.raises(KildeError, match=r"g\.jsonl:1: item is missing key\(s\) answerable"):
        load_gold(_write_jsonl(tmp_path / "g.jsonl", [obj]))


@pytest.mark.parametrize(
    "overrides",
    [
        {"answerable": "true"},
        {"answer_aliases": "34 kommuner"},
        {"answer_aliases": [34]},
        {"id": 1},
        {"evidence": [{"file": "doc.txt", "quote": None}]},
        {"evidence": ["doc.txt"]},
    ],
)
def test_load_rejects_bad_types(tmp_path, overrides):
    path = _write_jsonl(tmp_path / "g.jsonl", [_item(**overrides)])
    with pytest.raises(KildeError, match=r"g\.jsonl:1: "):
        load_gold(path)


def test_load_rejects_bad_json_with_line_number(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(_item()) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(KildeError, match=r"g\.jsonl:3: bad JSON"):
        load_gold(path)


def test_load_rejects_non_object_line(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(KildeError, match=r"g\.jsonl:1: expected a JSON object"):
        load_gold(path)


def test_load_missing_file_is_kilde_error(tmp_path):
    with pytest.raises(KildeError, match="not found"):
        load_gold(tmp_path / "missing.jsonl")


def test_write_then_load_round_trips(tmp_path, corpus):
    items = [
        GoldItem(
            id="n-1",
            question="Hvem?",
            answer="Line Coll.",
            answer_aliases=("Line Coll",),
            evidence=(Evidence(file="doc.txt", quote="34 kommuner"),),
            answerable=True,
            type="entity",
        )
    ]
    path = tmp_path / "sub" / "out.jsonl"
    write_gold(items, path)
    assert load_gold(path) == items
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == [
        "id",
        "question",
        "answer",
        "answer_aliases",
        "evidence",
        "answerable",
        "type",
    ]
    assert "Line Coll" in path.read_text(encoding="utf-8")  # written as UTF-8, not escaped


def test_split_is_optional_and_checked(tmp_path, corpus):
    objs = [_item(), _item(id="t-002", split="dev"), _item(id="t-003", split="holdout")]
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", objs))
    assert [g.split for g in items] == [None, "dev", "holdout"]
    assert validate_gold(items, corpus) == [
        "t-003: unknown split 'holdout' (expected one of ('dev', 'test', 'train'))"
    ]
    with pytest.raises(KildeError, match=r"g\.jsonl:1: key 'split' must be a string"):
        load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(split=None)]))


def test_select_split(tmp_path):
    objs = [_item(id="a"), _item(id="b", split="dev"), _item(id="c", split="test")]
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", objs))
    assert [g.id for g in select_split(items, "dev")] == ["b"]
    assert [g.id for g in select_split(items, "test")] == ["c"]
    assert [g.id for g in select_split(items, "all")] == ["a", "b", "c"]
    with pytest.raises(KildeError, match="split"):
        select_split(items, "val")


def test_split_round_trips_and_is_left_out_when_unset(tmp_path):
    objs = [_item(id="a"), _item(id="b", split="test")]
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", objs))
    write_gold(items, tmp_path / "out.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert "split" not in lines[0] and lines[1]["split"] == "test"
    assert load_gold(tmp_path / "out.jsonl") == items


def test_history_is_optional_checked_and_round_trips(tmp_path):
    objs = [_item(id="a"), _item(id="b", split="dev", history=["Hvor mange i 2024?"])]
    items = load_gold(_write_jsonl(tmp_path / "g.jsonl", objs))
    assert [g.history for g in items] == [(), ("Hvor mange i 2024?",)]
    write_gold(items, tmp_path / "out.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert "history" not in lines[0] and list(lines[1])[-1] == "history"
    assert load_gold(tmp_path / "out.jsonl") == items
    for bad, message in (("Hvor mange?", "key 'history' must be a list"), ([3], "history must")):
        with pytest.raises(KildeError, match=rf"g\.jsonl:1: {message}"):
            load_gold(_write_jsonl(tmp_path / "g.jsonl", [_item(history=bad)]))


FOLLOWUPS = ROOT / "eval" / "gold" / "followups.jsonl"


def test_follow_up_set_is_valid_and_every_item_has_a_history():
    items = load_gold(FOLLOWUPS)
    assert validate_gold(items, CORPUS) == []
    assert all(item.history and item.question not in item.history for item in items)
    splits = {item.split for item in items}
    assert splits == {"dev", "test"}
    assert any(not item.answerable for item in items if item.split == "test")
