"""The NorQuAD adapter: SQuAD JSON in, kilde corpus + gold file out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilde.errors import KildeError
from kilde.eval.gold import TYPES, load_gold, validate_gold
from kilde.eval.norquad import (
    answer_aliases,
    convert_norquad,
    evidence_quote,
    guess_type,
    main,
    slugify,
)

NORQUAD_VALIDATION = Path("/work/shared/norquad/validation.json")

OSLO = (
    "Oslo\n"
    "Oslo er Norges hovedstad. Byen hadde 709 037 innbyggere i 2023, ifølge SSB. "
    "Den ble grunnlagt ca. år 1040 av Harald Hardråde.\n"
    "Navnet ble endret til Christiania i 1624 fordi byen brant ned."
)
TROMSO = "Tromsø\nTromsø ligger nord i Norge. Byen kalles ofte Nordens Paris."


def _qa(qid, question, text, context, impossible=False, extra=()):
    start = context.index(text)
    answers = [{"text": text, "answer_start": start}]
    answers += [{"text": t, "answer_start": context.index(t)} for t in extra]
    return {"id": qid, "question": question, "answers": answers, "is_impossible": impossible}


def _squad(path: Path) -> Path:
    data = {
        "data": [
            {
                "title": "Ås og Ørsta: «byer»",
                "paragraphs": [
                    {
                        "context": OSLO,
                        "qas": [
                            _qa(1, "Hvor mange innbyggere hadde Oslo i 2023?", "709 037", OSLO),
                            _qa(2, "Når ble Oslo grunnlagt?", "ca. år 1040", OSLO),
                            _qa(3, "Hvorfor ble navnet endret?", "fordi byen brant ned", OSLO),
                            _qa(4, "Hva heter kongen?", "Harald", OSLO, impossible=True),
                        ],
                    },
                ],
            },
            {
                "paragraphs": [
                    # Same context again: must not become a second file.
                    {
                        "context": OSLO,
                        "qas": [
                            _qa(
                                5,
                                "Hvem grunnla Oslo?",
                                "Harald Hardråde",
                                OSLO,
                                extra=("Harald Hardråde.",),
                            )
                        ],
                    },
                    {
                        "context": TROMSO,
                        # Id 1 again: NorQuAD reuses ids between its parts.
                        "qas": [_qa(1, "Hva er Tromsø?", "Nordens Paris", TROMSO)],
                    },
                ],
            },
        ]
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_convert_small_file(tmp_path: Path) -> None:
    src = _squad(tmp_path / "squad.json")
    corpus, gold_path = convert_norquad(src, tmp_path / "out")

    files = sorted(p.name for p in corpus.iterdir())
    assert files == ["0001_as_og_orsta_byer.txt", "0002_tromso.txt"]
    first = (corpus / files[0]).read_text(encoding="utf-8")
    assert first == "Ås og Ørsta: «byer»\n\n" + OSLO + "\n"
    # Without an article title, the context's first line (NorQuAD's headline) is used.
    assert (corpus / files[1]).read_text(encoding="utf-8").startswith("Tromsø\n\nTromsø\n")

    gold = load_gold(gold_path)
    assert [g.id for g in gold] == ["nq-1", "nq-2", "nq-3", "nq-5", "nq-1-2"]
    assert all(g.answerable for g in gold)
    assert [g.type for g in gold] == ["number", "date", "reason", "entity", "definition"]
    by_id = {g.id: g for g in gold}

    assert by_id["nq-1"].answer == "709 037"
    assert set(by_id["nq-1"].answer_aliases) >= {"709 037", "709037", "709\u00a0037"}
    assert by_id["nq-1"].evidence[0].quote == ("Byen hadde 709 037 innbyggere i 2023, ifølge SSB.")
    # "ca. år" must not be taken for a sentence end.
    assert by_id["nq-2"].evidence[0].quote == "Den ble grunnlagt ca. år 1040 av Harald Hardråde."
    assert by_id["nq-5"].answer_aliases[:2] == ("Harald Hardråde", "Harald Hardråde.")
    assert by_id["nq-5"].evidence[0].file == "0001_as_og_orsta_byer.txt"
    assert by_id["nq-1-2"].evidence[0].file == "0002_tromso.txt"

    assert validate_gold(gold, corpus) == []
    for g in gold:
        text = (corpus / g.evidence[0].file).read_text(encoding="utf-8")
        assert g.evidence[0].quote in text


def test_convert_is_deterministic_and_limit_keeps_needed_passages(tmp_path: Path) -> None:
    src = _squad(tmp_path / "squad.json")
    _, g1 = convert_norquad(src, tmp_path / "a")
    _, g2 = convert_norquad(src, tmp_path / "b")
    assert g1.read_bytes() == g2.read_bytes()

    corpus, gold_path = convert_norquad(src, tmp_path / "a", limit=2)
    assert [g.id for g in load_gold(gold_path)] == ["nq-1", "nq-2"]
    # The re-run into the same folder drops the passage only the full run needed.
    assert [p.name for p in corpus.iterdir()] == ["0001_as_og_orsta_byer.txt"]


def test_window_fallback_for_long_sentences() -> None:
    context = (
        "Innledning\n"
        + " ".join(f"ord{i}" for i in range(200))
        + " svaret her "
        + (" ".join(f"mer{i}" for i in range(200)))
    )
    quote = evidence_quote(context, context.index("svaret"), "svaret her")
    assert "svaret her" in quote and quote in context
    assert len(quote) < 150
    assert quote.split()[0].startswith("ord") and quote.split()[-1].startswith("mer")


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    context = "Gata går til St. Halvards gate. Forfatteren H. C. Andersen skrev eventyr. Slutt."
    quote = evidence_quote(context, context.index("Halvards"), "Halvards gate")
    assert quote == "Gata går til St. Halvards gate."
    quote = evidence_quote(context, context.index("eventyr"), "eventyr")
    assert quote == "Forfatteren H. C. Andersen skrev eventyr."


def test_helpers() -> None:
    assert slugify("Østkant og vestkant i Oslo") == "ostkant_og_vestkant_i_oslo"
    assert slugify("!!!") == "passage"
    assert guess_type("Hvor lang tid tar det?") == "number"
    assert guess_type("I hvilket år kom boka?") == "date"
    assert guess_type("Hva betyr NAV?") == "definition"
    assert guess_type("Hva sa han når han kom?") == "entity"
    assert guess_type("Hva er en komet?") == "definition"
    assert guess_type("Hva er mottoet til familien Crawford?") == "entity"
    assert guess_type("Hvorfor kan det være vanskelig å si hvor mye det koster?") == "reason"
    assert answer_aliases(["15.844 svinger"]) == (
        "15.844 svinger",
        "15844 svinger",
        "15 844 svinger",
        "15\u00a0844 svinger",
    )


def test_bad_input_is_a_kilde_error(tmp_path: Path) -> None:
    with pytest.raises(KildeError):
        convert_norquad(tmp_path / "missing.json", tmp_path / "out")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(KildeError):
        convert_norquad(bad, tmp_path / "out")


@pytest.mark.skipif(not NORQUAD_VALIDATION.exists(), reason="NorQuAD validation split not here")
def test_real_validation_limit_20(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(NORQUAD_VALIDATION), str(tmp_path), "--limit", "20"]) == 0
    assert "20 questions" in capsys.readouterr().out

    gold = load_gold(tmp_path / "gold.jsonl")
    corpus = tmp_path / "corpus"
    assert len(gold) == 20
    assert len({g.id for g in gold}) == 20
    assert validate_gold(gold, corpus) == []
    assert {g.type for g in gold} <= set(TYPES) - {"unanswerable"}
    for g in gold:
        assert g.answer in g.answer_aliases
        if g.question.lower().startswith("hvor mange"):
            assert g.type == "number"
        if g.question.lower().startswith("hvorfor"):
            assert g.type == "reason"
    # Only the passages the 20 questions need, all named NNNN_slug.txt.
    used = {g.evidence[0].file for g in gold}
    assert {p.name for p in corpus.iterdir()} == used
    assert all(name[:4].isdigit() and name[4] == "_" and name.isascii() for name in used)
