"""Fusing rankings from several retrievers into one."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int = 60
) -> dict[str, float]:
    """Weighted RRF: sum over rankings of weight / (k + rank), rank 1-based."""
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return fused


def score_fusion(
    scored: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float]
) -> dict[str, float]:
    """Weighted sum of min-max normalised scores; a row missing from a list scores 0 there."""
    fused: dict[str, float] = {}
    for pairs, weight in zip(scored, weights, strict=True):
        if not pairs:
            continue
        values = [s for _, s in pairs]
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        for row, score in pairs:
            fused[row] = fused.get(row, 0.0) + weight * (score - low) / span
    return fused
