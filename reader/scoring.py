"""The reader network (encoder + two linear heads), its listwise loss, and top-1 evaluation.

Scores for one question are the candidate head on each (question, candidate) embedding plus,
as one more option, the no-answer head on the embedding of the question alone; training is a
softmax over these options with all right candidates (or "no answer") as the target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from kilde.reader.data import ReaderItem, pair_text
from kilde.reader.model import E5Encoder, pad_batch
from kilde.reader.tokenizer import Tokenizer

# A scorer maps (question, candidates) to (candidate scores, no-answer score).
Scorer = Callable[[str, Sequence[str]], tuple[np.ndarray, float]]


class ReaderNet(nn.Module):
    """Encoder plus the candidate head and the no-answer head."""

    def __init__(self, encoder: E5Encoder):
        super().__init__()
        self.encoder = encoder
        self.candidate_head = nn.Linear(encoder.cfg.hidden, 1)
        self.no_answer_head = nn.Linear(encoder.cfg.hidden, 1)
        nn.init.normal_(self.candidate_head.weight, std=0.1)
        nn.init.zeros_(self.no_answer_head.weight)
        nn.init.constant_(self.no_answer_head.bias, -2.0)

    def item_logits(
        self, tok: Tokenizer, items: Sequence[ReaderItem], max_tokens: int
    ) -> list[torch.Tensor]:
        """Per item: its candidates' scores followed by the no-answer score."""
        seqs: list[list[int]] = []
        for item in items:
            seqs += [
                tok.encode(pair_text(item.question, c), True, max_tokens) for c in item.candidates
            ]
        seqs += [tok.encode(item.question, True, max_tokens) for item in items]
        device = self.candidate_head.weight.device
        ids, mask = pad_batch(seqs, tok.pad)
        emb = self.encoder(ids.to(device), mask.to(device))
        n_cand = sum(len(item.candidates) for item in items)
        cand = self.candidate_head(emb[:n_cand]).squeeze(-1)
        none = self.no_answer_head(emb[n_cand:]).squeeze(-1)
        out, start = [], 0
        for i, item in enumerate(items):
            end = start + len(item.candidates)
            out.append(torch.cat([cand[start:end], none[i : i + 1]]))
            start = end
        return out


def listwise_loss(logits: torch.Tensor, item: ReaderItem) -> torch.Tensor:
    """-log of the softmax mass on the right options (the last option is "no answer")."""
    right = sorted(item.positives) if item.positives else [len(item.candidates)]
    return torch.logsumexp(logits, 0) - torch.logsumexp(logits[right], 0)


def torch_scorer(net: ReaderNet, tok: Tokenizer, max_tokens: int = 512) -> Scorer:
    """A scorer running ``net`` in eval mode without gradients."""

    def score(question: str, candidates: Sequence[str]) -> tuple[np.ndarray, float]:
        net.eval()
        with torch.no_grad():
            item = ReaderItem(question, tuple(candidates), frozenset(), "")
            logits = net.item_logits(tok, [item], max_tokens)[0].float().cpu().numpy()
        return logits[:-1], float(logits[-1])

    return score


def evaluate(scorer: Scorer, items: Sequence[ReaderItem]) -> dict[str, float]:
    """Top-1 accuracy on answerable items (ignoring no-answer), and how often the argmax over
    all options (no-answer included) is right on answerable and on unanswerable items."""
    top1 = hits_all = answerable = refused = unanswerable = 0
    for item in items:
        scores, none = scorer(item.question, item.candidates)
        best = int(np.argmax(scores))
        if item.positives:
            answerable += 1
            top1 += best in item.positives
            hits_all += best in item.positives and scores[best] > none
        else:
            unanswerable += 1
            refused += none >= scores.max()
    return {
        "items": float(len(items)),
        "top1": top1 / max(answerable, 1),
        "top1_over_no_answer": hits_all / max(answerable, 1),
        "no_answer_right": refused / max(unanswerable, 1) if unanswerable else float("nan"),
    }
