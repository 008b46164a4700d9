"""What each ``kilde`` subcommand does, given its parsed arguments (``cli.py`` builds the
parser and prints any KildeError as one line)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kilde.config import Settings, load_settings, parse_assignments
from kilde.errors import KildeError, UsageError

if TYPE_CHECKING:
    from kilde.types import Chunk, Filters


def llm_values(args: argparse.Namespace) -> dict:
    """The LLM flags as settings values (None: not given)."""
    return {
        "answer.answerer": getattr(args, "answerer", None),
        "llm.url": getattr(args, "llm_url", None),
        "llm.model": getattr(args, "llm_model", None),
        "llm.timeout": getattr(args, "llm_timeout", None),
    }


def settings_from(args: argparse.Namespace, **extra) -> Settings:
    values = {
        "index_dir": getattr(args, "index", None),
        "store": getattr(args, "store", None) or os.environ.get("KILDE_STORE") or None,
        "top_k": getattr(args, "top_k", None),
        "retriever": getattr(args, "retriever", None),
        **llm_values(args),
        **extra,
    }
    settings = load_settings(args.config, **values)
    settings = settings.with_values(**parse_assignments(getattr(args, "set", [])))
    index_dir = Path(settings.index.index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise UsageError(
            f"--index {index_dir} er en fil, ikke en mappe; oppgi en mappe for indeksen"
        )
    return settings


def filters_from(args: argparse.Namespace) -> Filters:
    from kilde.types import Filters

    return Filters(
        files=tuple(args.doc),
        publishers=tuple(args.publisher),
        year_from=args.year_from,
        year_to=args.year_to,
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    from kilde.index.build import ingest
    from kilde.index.embedders import load_embedder
    from kilde.ingest.chunk import ChunkingParams
    from kilde.ingest.ocr import OcrOptions

    settings = settings_from(
        args,
        corpus_dir=args.corpus,
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
    )
    spec = args.embedder or settings.index.embedder
    report = ingest(
        Path(settings.index.corpus_dir),
        settings.index.location,
        load_embedder(spec),
        ChunkingParams.from_settings(settings.index),
        progress=not args.quiet,
        embedder_spec=spec,
        ocr=OcrOptions.from_settings(settings.index),
    )
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return 0
    share = report.embed_seconds / report.seconds if report.seconds else 0.0
    print(
        f"Indeksert: {report.documents} dokumenter, {report.pages} sider, {report.chunks} "
        f"tekstbiter på {report.seconds:.1f} s ({share:.0%} embedding); "
        f"{report.embedded_files} filer embeddet, {report.reused_files} gjenbrukt."
    )
    if report.ocr_pages or report.ocr_cached:
        print(
            f"OCR: {report.ocr_pages} sider lest på {report.ocr_seconds:.1f} s, "
            f"{report.ocr_cached} hentet fra tidligere OCR."
        )
    for line in report.removed_files:
        print(f"  fjernet: {line}")
    for line in report.skipped:
        print(f"  hoppet over: {line}")
    for line in report.warnings:
        print(f"  advarsel: {line}")
    return 0


def open_engine(settings: Settings, args: argparse.Namespace):
    from kilde.answer.engine import Engine

    return Engine.open(settings, embedder_spec=getattr(args, "embedder", None))


def cmd_search(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    engine = open_engine(settings, args)
    query, filters = engine.checked(args.query, filters_from(args))
    results = engine.pipeline.search(query, settings.retrieval.top_k, filters)
    if args.json:
        rows = [
            {
                "file": r.chunk.file,
                "title": r.chunk.title,
                "page": r.chunk.page,
                "page_label": r.chunk.page_label,
                "score": round(r.score, 6),
                "text": r.chunk.text,
            }
            for r in results
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not results:
        print("Ingen treff.")
    for n, r in enumerate(results, start=1):
        c = r.chunk
        where = place_of(c)
        print(f"[{n}] {c.title} ({c.file}), {where}  score {r.score:.4f}")
        print("    " + " ".join(c.text.split())[:300])
    return 0


def place_of(chunk: Chunk) -> str:
    from kilde.text import location_label

    return (
        location_label(chunk.page, chunk.page_label, chunk.line_start, chunk.line_end)
        or "uten sidetall"
    )


def cmd_ask(args: argparse.Namespace) -> int:
    from kilde.answer.cite import numbered_answer
    from kilde.answer.serialize import answer_to_dict

    settings = settings_from(args)
    engine = open_engine(settings, args)
    answer = engine.ask(args.question, tuple(args.history), filters_from(args))
    if answer.notice:
        print(f"kilde: {answer.notice}", file=sys.stderr)
    if args.json:
        print(json.dumps(answer_to_dict(answer), ensure_ascii=False))
        return 0
    from kilde.app.views import read_as, refusal_why

    read = read_as(answer)
    if read:
        print(read)
        print()
    print(answer.answer if answer.refused else numbered_answer(answer.sentences))
    why = refusal_why(answer)
    if why:
        print(why)
    print()
    if answer.citations:
        print("Kilder:")
        for n, citation in enumerate(answer.citations, start=1):
            print(f"[{n}] {citation.reference}")
            print(f"    «{citation.quote}»")
            if citation.ocr:
                print("    (OCR-tekst – kontroller mot originalen)")
    elif answer.retrieved:
        print("Nærmeste tekstbiter:")
        for n, hit in enumerate(answer.retrieved[:3], start=1):
            c = hit.chunk
            print(f"[{n}] {c.title}, {place_of(c)}: " + " ".join(c.text.split())[:200])
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from kilde.answer.sourcecheck import SourceChecker, check_lines, check_to_dict, read_draft

    draft = read_draft(args.draft)
    engine = open_engine(settings_from(args), args)
    result = SourceChecker.from_engine(engine).check_draft(draft)
    if args.json:
        print(json.dumps(check_to_dict(result), ensure_ascii=False))
        return 0
    for line in check_lines(result):
        print(line)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kilde.eval.runner import VARIANTS, run_eval, summary_lines

    settings = load_settings(args.config, corpus_dir=args.corpus, **llm_values(args))
    settings = settings.with_values(**parse_assignments(args.set))
    variants = VARIANTS if args.variant == "all" else (args.variant,)
    metrics = run_eval(
        gold_path=args.gold,
        corpus_dir=Path(settings.index.corpus_dir),
        out_dir=args.out,
        settings=settings,
        variants=variants,
        index_dir=args.store or (Path(args.index) if args.index else None),
        compare=args.compare,
        limit=args.limit,
        embedder_spec=args.embedder,
        progress=not args.quiet,
        split=args.split,
    )
    for line in summary_lines(metrics):
        print(line)
    print(f"Rapport: {args.out / 'report.html'}")
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from kilde.app.feedback import export_gold, indexed_corpus, load_feedback

    settings = settings_from(args)
    index_dir = settings.index.location  # a folder, or a PostgreSQL store
    corpus = args.corpus or indexed_corpus(index_dir) or settings.index.corpus_dir
    if not load_feedback(index_dir):
        raise KildeError(f"ingen tilbakemeldinger i {index_dir}; gi 👍 eller 👎 i chatten først")
    result = export_gold(index_dir, corpus, args.out)
    print(f"{len(result.items)} gullspørsmål skrevet til {args.out} (dokumenter: {corpus})")
    for line in result.skipped:
        print(f"  utelatt: {line}")
    return 0


def cmd_eval_statements(args: argparse.Namespace) -> int:
    from kilde.answer.engine import Engine, QueryCache
    from kilde.answer.sourcecheck import SourceChecker
    from kilde.eval.runner import default_index_dir
    from kilde.eval.statements import (
        load_statements,
        run_statements_eval,
        statements_summary,
        validate_statements,
    )
    from kilde.index.build import ingest
    from kilde.index.embedders import load_embedder
    from kilde.ingest.chunk import ChunkingParams

    settings = load_settings(args.config, corpus_dir=args.corpus)
    settings = settings.with_values(**parse_assignments(args.set))
    gold = load_statements(args.statements)
    corpus = Path(settings.index.corpus_dir)
    spec = args.embedder or settings.index.embedder
    embedder = QueryCache(load_embedder(spec))
    index_dir = Path(args.index) if args.index else default_index_dir(corpus, settings, spec)
    if not args.index:
        ingest(
            corpus,
            index_dir,
            embedder,
            ChunkingParams.from_settings(settings.index),
            progress=not args.quiet,
            embedder_spec=spec,
        )
    engine = Engine.open(settings.with_values(index_dir=str(index_dir)), embedder=embedder)
    problems = validate_statements(gold, engine.store)
    if problems:
        raise KildeError(f"{args.statements}: {len(problems)} feil, først: {problems[0]}")
    metrics = run_statements_eval(
        SourceChecker.from_engine(engine), gold, args.out, progress=not args.quiet
    )
    for line in statements_summary(metrics):
        print(line)
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Replace this process with ``python -m streamlit run app/ui.py -- --index DIR ...``, so
    that Ctrl-C and a terminate signal reach the server directly."""
    import os

    from kilde.app.launch import AppArgs, streamlit_command

    settings = settings_from(args, corpus_dir=args.corpus)  # a bad kilde.toml fails here, plainly
    if not 0 < args.port < 65536:
        raise KildeError(f"--port {args.port} er ikke et portnummer; oppgi 1–65535")
    command = streamlit_command(
        sys.executable,
        Path(__file__).with_name("ui.py"),
        port=args.port,
        index_dir=settings.index.location,
        corpus_dir=args.corpus,
        config=str(args.config) if args.config else None,
        extra=AppArgs(
            answerer=args.answerer,
            llm_url=args.llm_url,
            llm_model=args.llm_model,
            llm_timeout=args.llm_timeout,
        ).llm_flags(),
    )
    print(f"kilde: starter chatten på http://localhost:{args.port}", file=sys.stderr, flush=True)
    os.execv(sys.executable, command)
    return 0  # not reached


def cmd_serve(args: argparse.Namespace) -> int:
    from kilde.app.serve import run_server

    settings = settings_from(args, corpus_dir=args.corpus)
    if not 0 < args.port < 65536:
        raise KildeError(f"--port {args.port} is not a port number; give 1-65535")
    return run_server(settings, args.config, args.host, args.port, args.workers)
