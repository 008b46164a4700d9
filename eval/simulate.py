"""Replay the reader answerer's choices from stored scores, so that its settings are tuned
in seconds instead of one pipeline pass per setting.

    python -m kilde.eval.simulate dump --gold eval/gold/kilde.jsonl --split dev \
        --out scores-dev.jsonl [--corpus corpus] [--reader models/reader]
    python -m kilde.eval.simulate replay scores-dev.jsonl [more.jsonl ...] \
        [--grid reader_rules_weight=1,3 --grid reader_count=rules,margin]
    python -m kilde.eval.simulate losses scores-dev.jsonl [more.jsonl ...]

``dump`` runs the pipeline once per question and stores, for each of the rules answerer's
candidate sentences, its rules score, its reader score, whether it holds a gold answer and
whether citing it is right, and the question's names and years its passage lacks. ``replay``
chooses sentences from those stores the way ``answer/reader.py`` does, for every combination
of ``--grid``, and prints accuracy / citation precision per file and unanswerable refused /
answerable refused over all files, beside the rules answerer's own answers. On gold dev the
replay gave exactly what ``kilde eval`` gives (docs/reader.md); confirm a chosen setting
with ``kilde eval --set ...`` all the same, and never dump a test split to tune on.
``losses`` says where answerable questions lose their answer: before the reader (not among
the candidates it reads) or in its choice.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from kilde.answer.gate import detail_text
from kilde.answer.reader import kept
from kilde.config import AnswerSettings, Settings, load_settings, parse_value
from kilde.errors import KildeError
from kilde.text import squash

from .gold import load_gold, select_split
from .metrics import answer_correct, citation_correct

READER_DEV = "reader-dev"  # the items kilde.reader.train holds out of training (hash split)
MOST_CANDIDATES = 12  # the most reader_candidates a replay can try; the reader reads them all
REPLAYED = (
    "reader_rules_weight",
    "reader_candidates",
    "reader_count",
    "reader_margin",
    "reader_rules_cut",
    "reader_no_answer",
)


def dump(
    gold_path: Path, split: str, corpus: Path, out: Path, reader_model: str, index: Path | None
) -> int:
    """Score every candidate sentence of ``split`` once and write one JSON line per item."""
    from .runner import eval_engine

    items = load_gold(gold_path)
    if split == READER_DEV:
        from kilde.reader.data import is_dev

        items = [item for item in items if is_dev(item.question)]
    else:
        items = select_split(items, split)
    settings = load_settings(None).with_values(
        # the refusal head is left out: it is fit on these dumps (kilde.reader.refusal_fit)
        **{
            "answer.answerer": "reader",
            "answer.reader_model": reader_model,
            "answer.reader_refusal": False,
        }
    )
    engine, _ = eval_engine(corpus, settings, index_dir=index)
    out.parent.mkdir(parents=True, exist_ok=True)
    embeddings: list[np.ndarray] = []
    with out.open("w", encoding="utf-8") as f:
        for record in records(engine.pipeline, _progress(items), embeddings):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    # beside the scores, what the refusal head is fit on (kilde.reader.refusal_fit)
    np.savez_compressed(embeddings_path(out), *embeddings)
    return len(items)


def embeddings_path(dump_path: Path) -> Path:
    """Where ``dump`` stores the reader's pair embeddings of each record's candidates."""
    return dump_path.with_suffix(".npz")


def load_embeddings(dump_path: Path) -> list[np.ndarray]:
    """The pair embeddings of each record of a dump, in its order (float32)."""
    with np.load(embeddings_path(dump_path)) as stored:
        return [stored[f"arr_{i}"].astype(np.float32) for i in range(len(stored.files))]


def records(pipe, items: Iterable, embeddings: list | None = None) -> Iterator[dict]:
    """For each gold item, what the pipeline's reader answerer decides from (see ``dump``);
    each item's candidate pair embeddings are appended to ``embeddings`` when given."""
    from kilde.answer.reader import reader_texts
    from kilde.answer.rules import choose

    rules, reader = pipe.answerer.rules, pipe.answerer.reader
    for item in items:
        query, retrieved = pipe.retrieve(item.question, item.history)
        evidence = pipe.gate.check(query, retrieved)
        full = rules.candidates(item.question, query, retrieved)
        draft = rules.draft(item.question, query, retrieved)
        admitted = bool(draft.spans) and pipe.gate.admits(query, draft, item.question)
        cands = full[:MOST_CANDIDATES]
        texts = reader_texts(cands, reader.context)
        reading = reader.read(query, texts, no_answer=True) if cands else None
        reader_scores = reading.scores if reading else []
        no_answer = reading.no_answer if reading else 0.0
        if embeddings is not None:
            empty = np.zeros((0, reader.hidden), dtype=np.float16)
            embeddings.append(reading.embeddings.astype(np.float16) if reading else empty)
        labelled = [
            _candidate(item, c, float(r)) for c, r in zip(cands, reader_scores, strict=True)
        ]
        yield {
            "id": item.id,
            "answerable": item.answerable,
            "type": item.type,
            "gate_refused": evidence.refuse,
            "gate_coverage": evidence.coverage,
            "gate_unknown": evidence.unknown,
            # the question's names and years each retrieved passage lacks, best first
            "passages_missing": [_missing(item.question, r.chunk) for r in retrieved],
            "rules_count": len(choose(full, pipe.answerer.settings)),
            "rules_answer": [
                _label(item, sp.text, sp.chunk.file) for sp in draft.spans if admitted
            ],
            "no_answer": float(no_answer),
            # where the rules rank the first sentence of the answer passages that holds a gold
            # answer (None: none does), so that `losses` tells the rules' cut from retrieval's
            "answer_rank": _answer_rank(item, full, labelled),
            "candidates": labelled,
        }


def _answer_rank(item, full: Sequence, labelled: Sequence[dict]) -> int | None:
    """The 0-based rank among all the rules' candidates ``full`` of the first one holding a
    gold answer; None when none does. ``labelled``, the first of them already labelled, are
    not judged again."""
    first = next((k for k, c in enumerate(labelled) if c["holds_answer"]), None)
    if first is not None or not item.answerable:
        return first
    rest = enumerate(full[len(labelled) :], start=len(labelled))
    return next((k for k, c in rest if answer_correct(item, c.text, refused=False)), None)


def _candidate(item, candidate, reader_score: float) -> dict:
    chunk = candidate.retrieved.chunk
    return {
        **_label(item, candidate.text, chunk.file),
        "rules": float(candidate.score),
        "reader": reader_score,
        "missing": _missing(item.question, chunk),
    }


def _missing(question: str, chunk) -> list[str]:
    """The names and years of ``question`` that the chunk, its title and heading lack (the
    gate's detail check, answer/gate.py)."""
    from kilde.text.details import missing_details

    return sorted(missing_details(question, [detail_text(chunk)]))


def _label(item, text: str, file: str) -> dict:
    label = {"text": text, "chars": len(squash(text))}
    if not item.answerable:
        return {**label, "holds_answer": False, "cites_right": False}
    return {
        **label,
        "holds_answer": answer_correct(item, text, refused=False),
        "cites_right": citation_correct(item, {"quote": text, "file": file}),
    }


def _progress(items: Sequence):
    from tqdm import tqdm

    return tqdm(items, desc="scoring candidates", unit="question")


def choice(**values) -> AnswerSettings:
    """The answer settings with ``values`` (names of the answer section) set, validated."""
    return Settings().with_values(**{f"answer.{k}": v for k, v in values.items()}).answer


def reader_choice(record: dict, settings: AnswerSettings) -> list[dict]:
    """The candidates the reader answerer would keep (answer/reader.py, draft)."""
    cands = record["candidates"][: settings.reader_candidates]
    if not cands:
        return []
    reader = np.asarray([c["reader"] for c in cands], dtype=np.float32)
    rules = np.asarray([c["rules"] for c in cands], dtype=np.float32)
    lengths = [c["chars"] for c in cands]
    texts = [c["text"] for c in cands]
    keep = kept(reader, rules, lengths, record["rules_count"], settings, record["no_answer"], texts)
    chosen = [cands[i] for i in keep]
    # the gate's check of names and years: refused when one stands in none of the passages
    if chosen and set.intersection(*(set(c["missing"]) for c in chosen)):
        return []
    return chosen


def read_dump(path: Path) -> list[dict]:
    """The records of a dump, in order."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def holds_answer(candidates: Sequence[dict]) -> bool:
    """Whether one of ``candidates`` (dumped candidate dicts) holds a gold answer."""
    return any(c["holds_answer"] for c in candidates)


def score(records: Sequence[dict], chooser: Callable[[dict], list[dict]]) -> dict[str, float]:
    """Accuracy, citation precision, unanswerable refused and answerable refused."""
    correct, precision, refused_unanswerable, refused_answerable = [], [], [], []
    for record in records:
        chosen = [] if record["gate_refused"] else chooser(record)
        if not record["answerable"]:
            refused_unanswerable.append(not chosen)
            continue
        refused_answerable.append(not chosen)
        correct.append(holds_answer(chosen))
        if chosen:
            precision.append(float(np.mean([c["cites_right"] for c in chosen])))

    def mean(values: list) -> float:
        return float(np.mean(values)) if values else float("nan")

    return {
        "accuracy": mean(correct),
        "precision": mean(precision),
        "refused_unanswerable": mean(refused_unanswerable),
        "refused_answerable": mean(refused_answerable),
    }


def replay(files: Sequence[Path], grid: dict[str, list]) -> list[str]:
    """One line per setting: accuracy/precision per file, then all files together."""
    groups: dict[str, list[dict]] = {}
    for p in files:
        name = p.stem if p.stem not in groups else f"{p.parent.name}/{p.stem}"
        groups[name] = read_dump(p)
    everything = [r for records in groups.values() for r in records]
    rows: list[tuple[str, Callable[[dict], list[dict]]]] = [
        ("rules answerer", lambda r: r["rules_answer"])
    ]
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        settings = choice(**dict(zip(keys, values, strict=True)))
        name = " ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True)) or "reader"
        rows.append((name, lambda r, s=settings: reader_choice(r, s)))
    width = max(len(name) for name, _ in rows)
    header = " ".join(f"{g[-15:]:>15s}" for g in groups)
    lines = [f"{'':{width}s} {header} {'all':>15s}  unans.ref  ans.ref"]
    for name, chooser in rows:
        cells = []
        for records in groups.values():
            m = score(records, chooser)
            cells.append(f"{m['accuracy']:.3f}/{m['precision']:.3f}".rjust(15))
        m = score(everything, chooser)
        total = f"{m['accuracy']:.3f}/{m['precision']:.3f}".rjust(15)
        refusals = f"{m['refused_unanswerable']:9.3f} {m['refused_answerable']:8.3f}"
        lines.append(f"{name:{width}s} {' '.join(cells)} {total}  {refusals}")
    return lines


def losses(files: Sequence[Path], depths: Sequence[int] = (8, 12)) -> list[str]:
    """Where answerable questions lose their answer: the share whose answer sentence stands
    among the rules answerer's first K candidates (the reader reads only those), among all
    the sentences of the answer passages ("in all"; "-" for dumps written before it was
    recorded), and the share the reader answerer gets right when its K hold the answer
    (default settings)."""
    settings = choice()
    lines = [
        f"{'':24s} {'n':>5s} "
        + " ".join(f"{'in ' + str(k):>7s}" for k in depths)
        + f" {'in all':>7s} {'right|in ' + str(settings.reader_candidates):>12s}"
    ]
    for path in files:
        answerable = [r for r in read_dump(path) if r["answerable"]]
        if not answerable:
            continue
        shares = [np.mean([holds_answer(r["candidates"][:k]) for r in answerable]) for k in depths]
        known = all("answer_rank" in r for r in answerable)
        in_all = np.mean([r["answer_rank"] is not None for r in answerable]) if known else None
        held = [
            r
            for r in answerable
            if not r["gate_refused"] and holds_answer(r["candidates"][: settings.reader_candidates])
        ]
        right = [holds_answer(reader_choice(r, settings)) for r in held]
        given = f"{np.mean(right):.3f}" if right else "-"
        lines.append(
            f"{path.stem[-24:]:24s} {len(answerable):5d} "
            + " ".join(f"{v:7.3f}" for v in shares)
            + f" {'-' if in_all is None else f'{in_all:.3f}':>7s}"
            + f" {given:>12s}"
        )
    return lines


def _grid(specs: Sequence[str]) -> dict[str, list]:
    grid: dict[str, list] = {}
    for spec in specs:
        key, _, values = spec.partition("=")
        key = key.removeprefix("answer.")
        if key not in REPLAYED:
            raise SystemExit(f"Kan bare prøve {', '.join(REPLAYED)}, ikke «{key}».")
        grid[key] = [parse_value(v) for v in values.split(",")]
    if max(grid.get("reader_candidates", [0])) > MOST_CANDIDATES:
        raise SystemExit(f"Lagrede poeng finnes for høyst {MOST_CANDIDATES} kandidater.")
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="score every candidate sentence once")
    d.add_argument("--gold", type=Path, required=True)
    d.add_argument("--split", default="dev", help=f"dev, train, all or {READER_DEV}")
    d.add_argument("--corpus", type=Path, default=Path("corpus"), help="the gold's corpus")
    d.add_argument("--index", type=Path, default=None, help="its index (default: eval's)")
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--reader", default="models/reader", help="the reader's folder")
    r = sub.add_parser("replay", help="replay settings from dumped scores")
    r.add_argument("files", type=Path, nargs="+")
    r.add_argument("--grid", action="append", default=[], help="setting=v1,v2 (repeatable)")
    w = sub.add_parser("losses", help="where answers are lost: the rules' K, then the reader")
    w.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "dump":
            if args.split == "test":
                raise SystemExit("Test-delen skal ikke brukes til innstilling; bruk --split dev.")
            n = dump(args.gold, args.split, args.corpus, args.out, args.reader, args.index)
            print(f"{n} spørsmål skrevet til {args.out}")
            return 0
        if args.command == "losses":
            print("\n".join(losses(args.files)))
            return 0
        print("\n".join(replay(args.files, _grid(args.grid))))
    except KildeError as exc:  # a bad gold file or reader folder: one line, no traceback
        raise SystemExit(str(exc)) from None
    except OSError as exc:
        raise SystemExit(f"Kan ikke lese eller skrive {exc.filename}: {exc.strerror}.") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
