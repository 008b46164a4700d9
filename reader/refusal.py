"""The refusal head: says when the sentences an answer keeps do not answer its question.

A logistic model over the reader's pair embedding (question with sentence) that rates
whether the sentence holds the answer; an answer is refused when the mean rating of its kept
sentences falls below a threshold. It is fit on the candidate sentences of the training
questions (those holding a gold answer against all others, the candidates of unanswerable
questions included). A model judging whole answers (answerable against unanswerable
questions) separated the training questions better but refused answerable gold dev questions
far more often than the chosen rate (docs/reader.md, "A refusal head"). The threshold is set
from the ratings that models fit without a question's writer gave it (one group per file of
questions), so that a chosen share of answered answerable questions is refused. The head
belongs to one encoder: refusal.json names the SHA-256 of the encoder.bin it was fit on.

    make refusal-head   # dumps of the training questions, then kilde.reader.refusal_fit
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kilde.errors import ReaderModelError

from .export import ENCODER_FILE

REFUSAL_FILE = "refusal.json"
_REFIT = "tilpass det på nytt med `make refusal-head`"


def encoder_digest(folder: Path) -> str:
    return hashlib.sha256((folder / ENCODER_FILE).read_bytes()).hexdigest()


@dataclass(frozen=True)
class RefusalHead:
    weight: np.ndarray
    bias: float
    threshold: float  # refuse when the answer's rating is below this

    def rating(self, embeddings: np.ndarray) -> float:
        """How well the kept sentences (their pair embeddings) answer the question: the
        mean of each one's logit of holding the answer."""
        return answer_rating(embeddings, self.weight, self.bias)

    def refuses(self, embeddings: np.ndarray) -> bool:
        return len(embeddings) > 0 and self.rating(embeddings) < self.threshold

    @classmethod
    def load(cls, folder: Path, hidden: int | None = None) -> RefusalHead:
        """The head in ``folder``/refusal.json (for embeddings of size ``hidden``, when
        given); ReaderModelError (one line) when it is missing, damaged or fit on another
        encoder."""
        path = folder / REFUSAL_FILE
        if not path.is_file():
            raise ReaderModelError(f"Avvisningsmodellen mangler filen {path}; {_REFIT}.")
        try:
            data = json.loads(path.read_text())
            head = cls(
                weight=np.asarray(data["weight"], dtype=np.float32),
                bias=float(data["bias"]),
                threshold=float(data["threshold"]),
            )
            digest = str(data["encoder_sha256"])
            if head.weight.ndim != 1 or hidden not in (None, len(head.weight)):
                raise ValueError("weight size")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ReaderModelError(
                f"Avvisningsmodellen har en skadet fil {path}; {_REFIT}."
            ) from None
        if digest != encoder_digest(folder):
            raise ReaderModelError(
                f"Avvisningsmodellen {path} hører til en annen lesermodell; {_REFIT}."
            )
        return head


def answer_rating(embeddings: np.ndarray, weight: np.ndarray, bias: float) -> float:
    """The mean logit of the sentences (rows of pair embeddings) holding the answer."""
    return float(np.mean(np.asarray(embeddings, dtype=np.float32) @ weight + bias))


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> tuple[np.ndarray, float]:
    """L2-regularized logistic regression by Newton's method, both classes weighted equally
    (about one candidate sentence in eleven holds the answer)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    positives = max(float(y.sum()), 1.0)
    negatives = max(float(len(y) - y.sum()), 1.0)
    sample = np.where(y > 0, len(y) / (2 * positives), len(y) / (2 * negatives))
    design = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], 1.0 / c)  # c: inverse L2 strength (sklearn's C)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        grad = design.T @ (sample * (p - y)) + penalty * theta
        hess = (design * (sample * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if float(np.abs(step).max()) < 1e-7:
            break
    return theta[:-1].astype(np.float32), float(theta[-1])


def threshold_for(ratings: np.ndarray, false_refusals: float) -> float:
    """The rating below which ``false_refusals`` of the (answerable) ``ratings`` lie."""
    return float(np.quantile(ratings, false_refusals))
