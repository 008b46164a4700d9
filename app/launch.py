"""How the Streamlit chat is started and what it opens: script arguments and environment
(`streamlit run app/ui.py -- --index DIR`), settings, the index status and where uploads go.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kilde.config import Settings, load_settings
from kilde.index.interface import IndexStatus
from kilde.index.pg_schema import is_pg_url
from kilde.index.store import read_status

if TYPE_CHECKING:
    pass
from kilde.ingest.uploads import MAX_UPLOAD_MB


@dataclass(frozen=True)
class AppArgs:
    index_dir: str | None = None
    corpus_dir: str | None = None
    config: str | None = None
    # The optional LLM answerer's flags (kilde app --answerer llm --llm-url ...).
    answerer: str | None = None
    llm_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float | None = None

    def llm_values(self) -> dict:
        return {
            "answer.answerer": self.answerer,
            "llm.url": self.llm_url,
            "llm.model": self.llm_model,
            "llm.timeout": self.llm_timeout,
        }

    def llm_flags(self) -> list[str]:
        """The LLM flags again, for the command line that starts the app."""
        pairs = [
            ("--answerer", self.answerer),
            ("--llm-url", self.llm_url),
            ("--llm-model", self.llm_model),
            ("--llm-timeout", self.llm_timeout),
        ]
        return [part for flag, value in pairs if value is not None for part in (flag, str(value))]


ENV_INDEX, ENV_CORPUS, ENV_CONFIG = "KILDE_INDEX", "KILDE_CORPUS", "KILDE_CONFIG"
ENV_STORE = "KILDE_STORE"


def parse_app_args(argv: Sequence[str], environ: Mapping[str, str]) -> AppArgs:
    """Script arguments first, then KILDE_STORE (a PostgreSQL URL) or KILDE_INDEX,
    KILDE_CORPUS, KILDE_CONFIG. ``--index`` takes a folder or a PostgreSQL URL."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--index")
    parser.add_argument("--corpus")
    parser.add_argument("--config")
    parser.add_argument("--answerer")
    parser.add_argument("--llm-url")
    parser.add_argument("--llm-model")
    parser.add_argument("--llm-timeout", type=float)
    ns, _ = parser.parse_known_args(list(argv))
    return AppArgs(
        index_dir=ns.index or environ.get(ENV_STORE) or environ.get(ENV_INDEX) or None,
        corpus_dir=ns.corpus or environ.get(ENV_CORPUS) or None,
        config=ns.config or environ.get(ENV_CONFIG) or None,
        answerer=ns.answerer,
        llm_url=ns.llm_url,
        llm_model=ns.llm_model,
        llm_timeout=ns.llm_timeout,
    )


def app_settings(args: AppArgs) -> Settings:
    """The settings; ``settings.index.location`` is the store the app opens."""
    store = is_pg_url(args.index_dir)
    return load_settings(
        Path(args.config) if args.config else None,
        index_dir=None if store else args.index_dir,
        store=args.index_dir if store else None,
        corpus_dir=args.corpus_dir,
        **args.llm_values(),
    )


def streamlit_command(
    python: str,
    ui_path: Path,
    port: int,
    index_dir: str,
    corpus_dir: str | None = None,
    config: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``python -m streamlit run`` command line that ``kilde app`` executes."""
    command = [
        python,
        "-m",
        "streamlit",
        "run",
        str(ui_path),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.maxUploadSize",
        str(MAX_UPLOAD_MB),
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--",
        "--index",
        index_dir if is_pg_url(index_dir) else str(Path(index_dir).resolve()),
    ]
    if corpus_dir:
        command += ["--corpus", str(Path(corpus_dir).resolve())]
    if config:
        command += ["--config", str(Path(config).resolve())]
    return command + list(extra)  # e.g. AppArgs.llm_flags()


def index_status_of(index_dir: str | Path) -> IndexStatus | None:
    """The live index's status (its generation changes whenever an ingest publishes), or
    None when there is no index."""
    if is_pg_url(index_dir):  # a PostgreSQL store (the app was started with --store)
        from kilde.index.pg_store import status_of

        return status_of(str(index_dir))
    return read_status(Path(index_dir))


def upload_corpus(args: AppArgs, settings: Settings, status: IndexStatus | None) -> Path:
    """Where uploads go: the --corpus given, else the folder the index was built from."""
    if args.corpus_dir:
        return Path(args.corpus_dir)
    if status and status.corpus_dir:
        return Path(status.corpus_dir)
    return Path(settings.index.corpus_dir)


def corpus_mismatch(corpus_dir: Path, status: IndexStatus | None) -> str | None:
    """A warning when uploads would re-ingest another folder than the index was built from
    (that ingest would drop every document not in it)."""
    built_from = status.corpus_dir if status else None
    if built_from and Path(built_from).resolve() != Path(corpus_dir).resolve():
        return (
            f"Indeksen er bygget fra {built_from}, ikke {corpus_dir}. Opplasting er slått av; "
            f"start med --corpus {built_from} for å legge til dokumenter."
        )
    return None


def ingest_params(settings: Settings, status: IndexStatus | None) -> tuple[int, int]:
    """Chunk size and overlap for an upload: the index's own, so unchanged files are not
    re-embedded; the settings' for a new index."""
    chunking = status.chunking if status else {}
    return (
        int(chunking.get("chunk_size", settings.index.chunk_size)),
        int(chunking.get("chunk_overlap", settings.index.chunk_overlap)),
    )
