"""The dev/test split keeps items about the same evidence together and is balanced."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from kilde.eval.gold import Evidence, GoldItem, load_gold
from kilde.eval.splits import assign_dev_test, evidence_groups, jaccard, word_windows

ROOT = Path(__file__).parents[1]
GOLD = ROOT / "eval" / "gold" / "kilde.jsonl"
CORPUS = ROOT / "corpus"


def _item(item_id: str, quote: str | None, kind: str = "number", split=None) -> GoldItem:
    evidence = (Evidence("doc.txt", quote),) if quote else ()
    return GoldItem(
        item_id, "Hvor mange?", "x", ("x",) if quote else (), evidence, bool(quote), kind, split
    )


def test_every_gold_item_is_dev_or_test_and_groups_are_not_split():
    gold = load_gold(GOLD)
    assert {g.split for g in gold} == {"dev", "test"}
    for group in evidence_groups(gold, CORPUS):
        assert len({g.split for g in group}) == 1, [g.id for g in group]
    hp = [g for g in gold if g.id.startswith("hp-")]
    for kind, n in Counter(g.type for g in hp).items():
        dev = sum(g.type == kind and g.split == "dev" for g in hp)
        assert abs(2 * dev - n) <= 2, (kind, dev, n)


def test_split_is_reproducible_on_its_own_output():
    gold = load_gold(GOLD)
    assert assign_dev_test(gold, CORPUS) == gold


def test_groups_join_same_sentence_and_shared_word_runs(tmp_path):
    (tmp_path / "doc.txt").write_text(
        "Første setning har 34 kommuner og ni sykehus i regionen. Andre setning er om noe "
        "helt annet, nemlig fastleger. Tredje setning: 71 % av innbyggerne bor der.",
        encoding="utf-8",
    )
    items = [
        _item("a", "34 kommuner"),
        _item("b", "ni sykehus i regionen"),  # same sentence as a
        _item("c", "fastleger"),
        _item("d", "71 % av innbyggerne"),
        _item("e", None, "unanswerable"),
    ]
    groups = sorted(sorted(g.id for g in group) for group in evidence_groups(items, tmp_path))
    assert groups == [["a", "b"], ["c"], ["d"], ["e"]]
    split = {g.id: g.split for g in assign_dev_test(items, tmp_path)}
    assert split["a"] == split["b"] and set(split.values()) == {"dev", "test"}
    # A fixed split pulls its group along.
    items[1] = _item("b", "ni sykehus i regionen", split="test")
    split = {g.id: g.split for g in assign_dev_test(items, tmp_path)}
    assert split["a"] == "test"


def test_word_windows_and_jaccard():
    assert len(word_windows("en to tre fire fem seks sju åtte ni")) == 2
    assert word_windows("kort tekst") == {("kort", "tekst")}
    assert jaccard("Hvor mange kommuner?", "hvor mange KOMMUNER") == 1.0
    assert jaccard("a b", "c d") == 0.0


def test_held_out_test_items_use_facts_no_older_item_uses():
    gold = load_gold(GOLD)
    held_out = [g for g in gold if g.id.startswith("ht-")]
    assert len(held_out) >= 60 and all(g.split == "test" for g in held_out)
    assert sum(not g.answerable for g in held_out) >= 15
    for group in evidence_groups(gold, CORPUS):
        prefixes = {g.id[:3] for g in group}
        assert prefixes != {"hp-", "ht-"}, [g.id for g in group]


def test_split_gold_from_scratch_reproduces_the_committed_split(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("split_gold", GOLD.parent / "split_gold.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    copy = tmp_path / "kilde.jsonl"
    copy.write_bytes(GOLD.read_bytes())
    assert module.main(["--gold", str(copy), "--corpus", str(CORPUS), "--reset"]) == 0
    assert copy.read_bytes() == GOLD.read_bytes()
    assert "dev: 74 items" in capsys.readouterr().out
