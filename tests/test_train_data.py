"""The reader's training data is valid and kept apart from every eval item."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

from kilde.eval.gold import load_gold, validate_gold, write_gold

ROOT = Path(__file__).parents[1]
TRAIN = ROOT / "train" / "data"
GOLD = ROOT / "eval" / "gold" / "kilde.jsonl"


def _checker():
    spec = importlib.util.spec_from_file_location("check_disjoint", TRAIN / "check_disjoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_files_pass_the_disjointness_check(capsys):
    files = sorted(TRAIN.glob("kilde-train-*.jsonl"))
    assert files
    assert _checker().main([]) == 0, capsys.readouterr().out
    assert "kilde-train-c.jsonl" in capsys.readouterr().out  # train/more is checked too
    items = load_gold(TRAIN / "kilde-train-a.jsonl")
    assert sum(i.answerable for i in items) >= 200
    assert sum(not i.answerable for i in items) >= 30


def test_checker_flags_copied_evidence_and_paraphrased_questions(tmp_path, capsys):
    gold = [g for g in load_gold(GOLD) if g.answerable]
    copied = replace(gold[0], id="tr-x-001", split="train")
    reworded = replace(gold[1], id="tr-x-002", split="train", evidence=(), answerable=False)
    reworded = replace(reworded, type="unanswerable", answer="", answer_aliases=())
    path = tmp_path / "kilde-train-x.jsonl"
    write_gold([copied, reworded], path)
    checker = _checker()
    assert checker.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert f"tr-x-001: quote shares 8 words with eval item {gold[0].id}" in out
    assert f"tr-x-002: question near {gold[1].id}" in out

    assert checker.main(["--fix", str(path)]) == 0
    assert [json.loads(line)["id"] for line in path.read_text("utf-8").splitlines()] == []


def test_follow_up_tuning_files_are_kept_apart_from_both_eval_sets(capsys):
    files = sorted((ROOT / "train" / "followups").glob("kilde-fu-*.jsonl"))
    assert len(files) == 2
    checker = _checker()
    paths = [str(f) for f in files]
    assert checker.main(paths) == 0, capsys.readouterr().out
    followups = ROOT / "eval" / "gold" / "followups.jsonl"
    assert checker.main([*paths, "--eval", str(followups)]) == 0, capsys.readouterr().out
    items = [i for f in files for i in load_gold(f)]
    assert all(i.history for i in items)
    assert sum(not i.answerable for i in items) >= 20


def test_the_fresh_held_out_set_is_valid_and_apart_from_every_training_file(capsys):
    heldout = ROOT / "eval" / "gold" / "heldout.jsonl"
    items = load_gold(heldout)
    assert validate_gold(items, ROOT / "corpus") == []
    assert {i.split for i in items} == {"test"} and len(items) == 80
    assert sum(not i.answerable for i in items) == 24
    train = [
        *sorted(TRAIN.glob("kilde-train-*.jsonl")),
        *sorted((ROOT / "train" / "more").glob("kilde-train-*.jsonl")),
        *sorted((ROOT / "train" / "followups").glob("kilde-fu-*.jsonl")),
    ]
    assert len(train) == 7
    checker = _checker()
    assert checker.main([*map(str, train), "--eval", str(heldout)]) == 0, capsys.readouterr().out
