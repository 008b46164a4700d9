"""``kilde eval``: ingest the corpus, answer every gold question through the same path as
``kilde ask``, score, and write predictions, metrics and a report."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from kilde.answer.engine import Engine, QueryCache
from kilde.answer.factory import VARIANTS, build_baseline
from kilde.answer.serialize import answer_to_dict
from kilde.config import Settings
from kilde.errors import KildeError
from kilde.index.build import IngestReport, ingest
from kilde.index.embedders import load_embedder
from kilde.ingest.chunk import ChunkingParams
from kilde.ingest.linemap import decode_file_lines
from kilde.ingest.ocr import OcrOptions
from kilde.types import Answer

from .gold import GoldItem, load_gold, locate_evidence, select_split, validate_gold
from .metrics import evaluate
from .report import load_run, write_items, write_report
from .sources import SourceFiles

BASELINE = "baseline"  # the naive pipeline of kilde.answer.baseline, scored beside kilde
__all__ = ["VARIANTS", "run_eval", "summary_lines"]


def default_index_dir(corpus_dir: Path, settings: Settings, embedder_spec: str) -> Path:
    """A per-corpus, per-configuration eval index, so that eval never touches the user's
    index and repeated runs reuse the stored vectors."""
    key = f"{Path(corpus_dir).resolve()}|{embedder_spec}|{settings.index.chunk_size}|"
    key += str(settings.index.chunk_overlap)
    return Path(".kilde") / "eval" / hashlib.sha1(key.encode()).hexdigest()[:12]


def eval_engine(
    corpus_dir: Path,
    settings: Settings,
    embedder_spec: str | None = None,
    index_dir: Path | None = None,
    progress: bool = True,
) -> tuple[Engine, IngestReport]:
    """``corpus_dir`` ingested (incrementally) into its eval index, and an engine over it."""
    spec = embedder_spec or settings.index.embedder
    # The product's embedder path: the same query cache `kilde ask` and the app use.
    embedder = QueryCache(load_embedder(spec))
    index_dir = index_dir or default_index_dir(corpus_dir, settings, spec)
    report = ingest(
        corpus_dir,
        index_dir,
        embedder,
        ChunkingParams.from_settings(settings.index),
        progress=progress,
        embedder_spec=spec,
        ocr=OcrOptions.from_settings(settings.index),
    )
    settings = settings.with_values(index_dir=str(index_dir), store="")
    return Engine.open(settings, embedder=embedder), report


def run_eval(
    gold_path: Path,
    corpus_dir: Path,
    out_dir: Path,
    settings: Settings,
    variants: tuple[str, ...] = ("hybrid",),
    index_dir: Path | None = None,
    compare: Path | None = None,
    limit: int | None = None,
    embedder_spec: str | None = None,
    progress: bool = True,
    split: str = "all",
) -> dict:
    """Run the eval and return the metrics written to ``out_dir/metrics.json``.

    ``split`` ("dev", "test" or "all") keeps only the gold items of that split."""
    gold = load_gold(gold_path)
    sources = SourceFiles(corpus_dir)
    problems = validate_gold(gold, corpus_dir, sources)
    if problems:
        raise KildeError(f"{gold_path}: {len(problems)} problem(s), first: {problems[0]}")
    gold = select_split(gold, split)
    if not gold:
        raise KildeError(
            f"{gold_path} har ingen spørsmål i split {split!r}; velg en annen --split."
        )
    if limit:
        gold = gold[:limit]
    # Pages and file lines of the gold quotes, to judge where citations point.
    located = locate_evidence(gold, sources)
    older = load_run(compare) if compare else None  # fail early on a bad --compare

    base, report = eval_engine(corpus_dir, settings, embedder_spec, index_dir, progress)

    out_dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict] = {}
    items: dict[str, list[dict]] = {}
    preds: dict[str, list[dict]] = {}
    for name in variants:
        if name == BASELINE:
            pipeline, naive = build_baseline(corpus_dir, settings)
            preds[name] = _predict(pipeline.ask, gold, name, progress)
            runs[name], items[name] = evaluate(gold, preds[name], naive.page_text, located)
            continue
        engine = base.with_settings(base.settings.with_values(retriever=name))
        preds[name] = _predict(engine.ask, gold, name, progress)  # as `kilde ask` does
        runs[name], items[name] = evaluate(
            gold, preds[name], base.store.page_text, located, file_lines=corpus_lines(corpus_dir)
        )
    main = "hybrid" if "hybrid" in runs else variants[0]

    _write_jsonl(out_dir / "predictions.jsonl", preds[main])
    if len(variants) > 1:
        for name in variants:
            _write_jsonl(out_dir / f"predictions.{name}.jsonl", preds[name])
    metrics = {
        "main": main,
        "runs": runs,
        "gold": str(gold_path),
        "split": split,
        "corpus": str(corpus_dir),
        "embedder": base.embedder.id,
        "settings": settings.flat(),
        "index": {"documents": report.documents, "pages": report.pages, "chunks": report.chunks},
    }
    (out_dir / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    write_items(out_dir, items)
    write_report(
        out_dir,
        runs,
        items,
        gold,
        preds,
        compare=(older, str(compare)) if older else None,
        split=split,
    )
    return metrics


def corpus_lines(corpus_dir: Path) -> Callable[[str], list[str] | None]:
    """``file_lines(rel)``: a corpus file's lines as stored (None if it is gone)."""
    cache: dict[str, list[str] | None] = {}

    def file_lines(rel: str) -> list[str] | None:
        if rel not in cache:
            path = Path(corpus_dir) / rel
            cache[rel] = decode_file_lines(path.read_bytes()) if path.is_file() else None
        return cache[rel]

    return file_lines


def _predict(
    ask: Callable[[str, tuple[str, ...]], Answer], gold: list[GoldItem], name: str, progress: bool
) -> list[dict]:
    rows = []
    for item in tqdm(gold, desc=f"Spørsmål ({name})", unit="spm", disable=not progress):
        # A follow-up item is asked after its earlier questions, as the chat would ask it.
        answer = ask(item.question, item.history)
        rows.append({"id": item.id, **answer_to_dict(answer)})
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def summary_lines(metrics: dict) -> list[str]:
    """A few lines for the terminal: the headline figures of each retriever."""
    lines = []
    for name, m in metrics["runs"].items():
        r, a, c, f = m["retrieval"], m["answers"], m["citations"], m["refusals"]
        lines.append(
            f"{name:7s} hit@5 {_f(r['hit@5'])}  MRR@10 {_f(r['mrr@10'])}  "
            f"svar {_f(a['accuracy'])}  sitatpresisjon {_f(c['precision'])}  "
            f"ordrett {_f(c['verbatim'])}  side {_f(c['page_accuracy'])}  "
            f"linje {_f(c.get('line_accuracy'))}  "
            f"avslag(ubesvarbare) {_f(f['recall_unanswerable'])}  "
            f"feil avslag {_f(f['false_refusal_rate'])}  p95 {_f(m['latency_ms']['p95'], 1)} ms"
        )
        if metrics.get("settings", {}).get("answer.answerer") == "llm":
            claims = m["claims"]
            lines.append(
                f"{'':7s} språkmodell: forkastede påstander {claims['dropped']} "
                f"(andel {_f(claims['dropped_rate'])}), svarte selv på "
                f"{_f(claims['llm_answered'])} av spørsmålene (resten: standardsvareren)"
            )
    return lines


def _f(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
