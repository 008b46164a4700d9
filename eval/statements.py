"""``kilde eval-statements``: the source check scored against a statements gold set.

Each gold row is a statement with its expected status (``supported``, ``mismatch``,
``not_found``), the source file and quote for the first two, the differing figures for a
mismatch, and a ``split`` (dev or test, by a hash of the id). Thresholds are tuned on dev;
test is reported. The costly error is calling a statement ``supported`` that is not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from kilde.answer.sourcecheck import (
    MISMATCH,
    NOT_FOUND,
    STATUSES,
    SUPPORTED,
    SourceChecker,
    StatementCheck,
)
from kilde.errors import KildeError
from kilde.text import squash
from kilde.text.figures import extract_figures, same_figure

from .runner import _f


@dataclass(frozen=True)
class GoldStatement:
    id: str
    statement: str
    status: str
    split: str
    file: str | None = None
    quote: str | None = None
    also: tuple[tuple[str, str], ...] = ()  # other (file, quote) that hold it as well
    mismatches: tuple[tuple[str, str], ...] = ()  # (draft, source) figures
    kind: str = ""

    def sources(self) -> list[tuple[str, str]]:
        main = [(self.file, self.quote)] if self.file and self.quote else []
        return main + list(self.also)


def load_statements(path: Path) -> list[GoldStatement]:
    rows: list[GoldStatement] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KildeError(f"kan ikke lese {path}: {exc.strerror}; oppgi en JSONL-fil") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = GoldStatement(
                id=row["id"],
                statement=row["statement"],
                status=row["status"],
                split=row["split"],
                file=row.get("file"),
                quote=row.get("quote"),
                also=tuple((a["file"], a["quote"]) for a in row.get("also", [])),
                mismatches=tuple((m["draft"], m["source"]) for m in row.get("mismatches", [])),
                kind=row.get("kind", ""),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise KildeError(f"{path}, linje {n}: ikke en gyldig utsagnsrad ({exc})") from exc
        if item.status not in STATUSES or item.split not in ("dev", "test"):
            raise KildeError(f"{path}, linje {n}: ukjent status eller split i {item.id}")
        rows.append(item)
    return rows


def validate_statements(gold: Sequence[GoldStatement], store) -> list[str]:
    """Problems: a supported/mismatch row whose quote does not stand in its file."""
    problems = []
    for item in gold:
        if item.status == NOT_FOUND:
            continue
        for file, quote in item.sources():
            text = " ".join(page.text for page in store.file_pages(file))
            if squash(quote) not in squash(text):
                problems.append(f"{item.id}: sitatet står ikke i {file}")
    return problems


def citation_holds(check: StatementCheck, item: GoldStatement) -> bool:
    """The check's citation names a right document and its quote holds the gold quote's
    sentence (one contains the other, whitespace aside)."""
    if not check.citations:
        return False
    citation = check.citations[0]
    for file, quote in item.sources():
        if citation.file != file:
            continue
        got, want = squash(citation.quote), squash(quote)
        if want in got or got in want:
            return True
    return False


def _same_text(a: str, b: str) -> bool:
    if squash(a).lower() == squash(b).lower():
        return True
    fa, fb = extract_figures(a), extract_figures(b)
    return len(fa) == len(fb) == 1 and same_figure(fa[0], fb[0]) and same_figure(fb[0], fa[0])


def mismatch_named(check: StatementCheck, item: GoldStatement) -> bool:
    """Every gold (draft, source) pair is among the check's named differences."""
    got = [(m.draft, m.source) for m in check.mismatches]
    return all(
        any(_same_text(d, gd) and _same_text(s, gs) for d, s in got) for gd, gs in item.mismatches
    )


@dataclass
class Scores:
    n: int = 0
    by_status: dict[str, list[int]] = field(default_factory=dict)  # gold status -> [right, n]
    wrongly_supported: int = 0
    not_supported: int = 0
    predicted_supported: int = 0
    citations_right: int = 0
    citations_n: int = 0
    named_right: int = 0
    named_n: int = 0
    seconds: float = 0.0

    def add(self, item: GoldStatement, check: StatementCheck, seconds: float) -> None:
        self.n += 1
        self.seconds += seconds
        right, total = self.by_status.get(item.status, [0, 0])
        self.by_status[item.status] = [right + (check.status == item.status), total + 1]
        if check.status == SUPPORTED:
            self.predicted_supported += 1
        if item.status != SUPPORTED:
            self.not_supported += 1
            self.wrongly_supported += check.status == SUPPORTED
        if item.status == SUPPORTED and check.status == SUPPORTED:
            self.citations_n += 1
            self.citations_right += citation_holds(check, item)
        if item.status == MISMATCH and check.status == MISMATCH:
            self.named_n += 1
            self.named_right += mismatch_named(check, item)

    def as_dict(self) -> dict:
        def share(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        right = sum(r for r, _ in self.by_status.values())
        wrong_supported = self.wrongly_supported
        return {
            "statements": self.n,
            "accuracy": share(right, self.n),
            "accuracy_by_status": {s: share(*self.by_status.get(s, [0, 0])) for s in STATUSES},
            "count_by_status": {s: self.by_status.get(s, [0, 0])[1] for s in STATUSES},
            "mismatch_detection": share(*self.by_status.get(MISMATCH, [0, 0])),
            "mismatch_named_correctly": share(self.named_right, self.named_n),
            "wrongly_supported": share(wrong_supported, self.not_supported),
            "supported_precision": share(
                self.predicted_supported - wrong_supported, self.predicted_supported
            ),
            "citation_correct": share(self.citations_right, self.citations_n),
            "seconds_per_statement": share(int(self.seconds * 1000), self.n * 1000),
        }


def run_statements_eval(
    checker: SourceChecker,
    gold: Sequence[GoldStatement],
    out_dir: Path | None = None,
    progress: bool = True,
) -> dict:
    """Check every gold statement; metrics per split (and all), with predictions written to
    ``out_dir/statements.predictions.jsonl`` when given."""
    scores = {"dev": Scores(), "test": Scores(), "all": Scores()}
    rows = []
    for item in tqdm(gold, desc="Utsagn", unit="utsagn", disable=not progress):
        started = time.perf_counter()
        check = checker.check(item.statement)
        seconds = time.perf_counter() - started
        for key in (item.split, "all"):
            scores[key].add(item, check, seconds)
        rows.append(
            {
                "id": item.id,
                "split": item.split,
                "statement": item.statement,
                "gold": item.status,
                "status": check.status,
                "match": round(check.match, 4),
                "citation_file": check.citations[0].file if check.citations else None,
                "quote": check.citations[0].quote if check.citations else None,
                "citation_correct": citation_holds(check, item) if check.citations else None,
                "mismatches": [[m.draft, m.source] for m in check.mismatches],
            }
        )
    metrics = {split: s.as_dict() for split, s in scores.items()}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "statements.predictions.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        (out_dir / "statements.metrics.json").write_text(
            json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return metrics


def statements_summary(metrics: dict) -> list[str]:
    lines = []
    for split in ("dev", "test", "all"):
        m = metrics[split]
        by = m["accuracy_by_status"]
        lines.append(
            f"{split:4s} n={m['statements']:3d}  treff {_f(m['accuracy'])}  "
            f"støttet {_f(by[SUPPORTED])}  avvik {_f(by[MISMATCH])}  "
            f"ikke funnet {_f(by[NOT_FOUND])}  feilaktig støttet {_f(m['wrongly_supported'])}  "
            f"avvik navngitt {_f(m['mismatch_named_correctly'])}  "
            f"riktig sitat {_f(m['citation_correct'])}  "
            f"{_f(m['seconds_per_statement'], 2)} s/utsagn"
        )
    return lines
