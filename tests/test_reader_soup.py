"""kilde.reader.soup: the average of two readers, stored 4-bit again, and its one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kilde.errors import ReaderModelError
from kilde.reader.e5format import read_e5, write_e5
from kilde.reader.soup import main, soup

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "reader"
CHANGED = "l11.fo.w"  # a 4-bit matrix of a trained layer


@pytest.fixture(scope="module")
def two_readers(tmp_path_factory) -> tuple[Path, Path]:
    """The shipped reader, and a copy with one matrix and the candidate head moved."""
    root = tmp_path_factory.mktemp("soup")
    first, second = root / "first", root / "second"
    shutil.copytree(SHIPPED, first)
    shutil.copytree(SHIPPED, second)
    model = read_e5(second / "encoder.bin")
    shift = np.random.default_rng(0).normal(0, 0.05, model.tensors[CHANGED].shape)
    model.tensors[CHANGED] = (model.tensors[CHANGED] + shift).astype(np.float32)
    write_e5(model, second / "encoder.bin")
    head = json.loads((second / "head.json").read_text())
    head["candidate_bias"] += 2.0
    (second / "head.json").write_text(json.dumps(head))
    return first, second


def test_the_ends_of_the_average_are_the_readers_themselves(two_readers, tmp_path):
    first, second = two_readers
    for weight, same in ((0.0, first), (1.0, second)):
        soup(first, second, tmp_path / str(weight), weight)
        # Re-rounding a 4-bit matrix gives back the same bytes.
        assert (tmp_path / str(weight) / "encoder.bin").read_bytes() == (
            same / "encoder.bin"
        ).read_bytes()
        assert json.loads((tmp_path / str(weight) / "head.json").read_text()) == json.loads(
            (same / "head.json").read_text()
        )


def test_the_middle_lies_between_and_scores(two_readers, tmp_path):
    from kilde.reader.infer import Reader

    first, second = two_readers
    soup(first, second, tmp_path / "mid")
    a, b = read_e5(first / "encoder.bin"), read_e5(second / "encoder.bin")
    mid = read_e5(tmp_path / "mid" / "encoder.bin")
    midpoint = (a.tensors[CHANGED] + b.tensors[CHANGED]) / 2
    step = np.abs(a.tensors[CHANGED]).max()  # coarser than any block's 4-bit step
    assert not np.array_equal(mid.tensors[CHANGED], a.tensors[CHANGED])
    assert not np.array_equal(mid.tensors[CHANGED], b.tensors[CHANGED])
    assert np.abs(mid.tensors[CHANGED] - midpoint).max() < step
    # Only the changed matrix moved.
    assert np.array_equal(mid.tensors["l10.fo.w"], a.tensors["l10.fo.w"])
    head = json.loads((tmp_path / "mid" / "head.json").read_text())
    base = json.loads((first / "head.json").read_text())
    assert head["candidate_bias"] == pytest.approx(base["candidate_bias"] + 1.0)
    report = json.loads((tmp_path / "mid" / "training.json").read_text())
    assert report["soup"]["weight"] == 0.5 and report["qat"]
    scores, no_answer = Reader.load(tmp_path / "mid").score(
        "Når ble rådhuset bygget?",
        ["Rådhuset ble bygget i 1950.", "Biblioteket har åpent hver dag unntatt søndag."],
    )
    assert scores[0] > scores[1] and np.isfinite(no_answer)


def test_readers_of_another_shape_are_refused_in_one_line(two_readers, tmp_path):
    first, _ = two_readers
    other = tmp_path / "other"
    shutil.copytree(first, other)
    model = read_e5(other / "encoder.bin")
    model.pieces = model.pieces[:-1] + [b"\xe2\x96\x81kilde-ukjent"]
    write_e5(model, other / "encoder.bin")
    with pytest.raises(ReaderModelError, match="ulik form eller ordliste"):
        soup(first, other, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_names_a_missing_file_in_one_line(two_readers, tmp_path):
    first, _ = two_readers
    with pytest.raises(SystemExit) as exit_:
        main([str(first), str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "--no-dev"])
    message = str(exit_.value)
    assert "\n" not in message and str(tmp_path / "nowhere" / "encoder.bin") in message
    assert main([str(first), str(first), "--out", str(tmp_path / "same"), "--no-dev"]) == 0
    assert (tmp_path / "same" / "encoder.bin").read_bytes() == (first / "encoder.bin").read_bytes()
