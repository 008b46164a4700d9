"""Turn NorQuAD (SQuAD-format JSON) into a kilde corpus of passages plus a gold file.

NorQuAD is a real, external Norwegian QA benchmark; converting it lets the same eval
pipeline that measures our own documents measure retrieval and answer extraction on
hundreds of human-written questions. Each distinct context becomes one small ``.txt``
file, and each question a ``GoldItem`` whose evidence quote is an exact substring of
that file, so citation checks work unchanged.

Run: ``python -m kilde.eval.norquad SRC OUT [--limit N]``.
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kilde.errors import KildeError
from kilde.eval.gold import Evidence, GoldItem, write_gold

# Quotes longer than this stop being useful as a citation target; use a window instead.
MAX_QUOTE_CHARS = 300
# Characters of context kept either side of the answer in the fallback window.
WINDOW_CHARS = 60
SLUG_MAX = 40

# Files this adapter writes; only these are cleared on a re-run, so a user's own
# files in the folder are never deleted.
_OWN_FILE = re.compile(r"^\d{4}_[a-z0-9_]*\.txt$")

# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) when the
# next word starts with a capital letter, an opening quote or a dash. Requiring the
# capital keeps "17. mai", "bl.a. at" and "ca. 200" inside one sentence.
_SENTENCE_END = re.compile(r"""[.!?…]["»”')\]]*\s+(?=["«“(\-–—]?\s*[A-ZÆØÅÉÄÖÜ])""")
# ...unless the full stop ends an abbreviation or an initial: "St. Halvards gate", "H. C. Andersen".
_ABBREVIATION = re.compile(
    r"(?:\b[A-ZÆØÅ]|\b(?i:st|dr|mr|mrs|ms|prof|nr|kl|ca|jf|pkt|kap|fig|bl\.a|f\.eks|jr|sr))\.$"
)

# Digit groups written with a space, no-break space or dot as thousands separator.
_GROUPED_NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0.]\d{3})+(?!\d)")

_TRANSLIT = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A"})

# Question-word rules for the type guess, tried in order; the first match wins. A leading
# "hvorfor" decides before any "hvor mange" later in the question.
_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reason", re.compile(r"^\W*hvorfor\b")),
    (
        "number",
        re.compile(r"\bhvor (mange|mye|stor|store|stort|lang|langt|lenge|gammel|gamle|høy|høyt)\b"),
    ),
    (
        "date",
        re.compile(r"^\W*når\b|\bhvilke[nt]? (år|årstall|dato|datoen|måned|dag|tiår|århundre)\b"),
    ),
    ("reason", re.compile(r"\bhvorfor\b|\bhva (er|var) (grunnen|årsaken)\b")),
    ("definition", re.compile(r"^\W*hva betyr\b")),
    # "Hva er en komet?" asks for a definition; "Hva er mottoet til familien Crawford?"
    # asks for an entity, so the subject must be short and without a preposition.
    (
        "definition",
        re.compile(
            r"^\W*hva er (?!det\b|den\b|de\b|navnet\b)"
            r"(?!.*\b(til|på|i|av|for|om|med|ved|fra|som|mellom|hos)\b)(\S+\s*){1,4}$"
        ),
    ),
)


@dataclass(frozen=True)
class _Passage:
    """One distinct context and the file it is written to."""

    file: str
    title: str
    context: str

    @property
    def text(self) -> str:
        return f"{self.title}\n\n{self.context}\n"

    @property
    def offset(self) -> int:
        """Where the context starts inside ``text``."""
        return len(self.title) + 2


def slugify(title: str) -> str:
    """ASCII-safe, lower-case file-name part for a title ("Østkant i Oslo" -> "ostkant_i_oslo")."""
    ascii_text = (
        unicodedata.normalize("NFKD", title.translate(_TRANSLIT))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return slug[:SLUG_MAX].rstrip("_") or "passage"


def guess_type(question: str) -> str:
    """Guess a GoldItem type from the Norwegian question word."""
    q = " ".join(question.lower().split())
    for qtype, pattern in _TYPE_RULES:
        if pattern.search(q):
            return qtype
    return "entity"


def answer_aliases(texts: list[str]) -> tuple[str, ...]:
    """Distinct answer texts, plus spelling variants of grouped numbers ("39 200" -> "39200")."""
    out: list[str] = []

    def add(s: str) -> None:
        s = s.strip()
        if s and s not in out:
            out.append(s)

    for text in texts:
        add(text)
        # SQuAD spans often carry a trailing comma or full stop from the context.
        add(text.strip().rstrip(".,;:"))
    for text in list(out):
        for sep in ("", " ", "\u00a0"):
            add(_GROUPED_NUMBER.sub(lambda m, sep=sep: re.sub(r"[ \u00a0.]", sep, m[0]), text))
    return tuple(out)


def _title_of(article: dict, context: str) -> str:
    """The article title, or the context's first line (NorQuAD puts the headline there)."""
    title = " ".join(str(article.get("title") or "").split())
    if not title:
        title = " ".join(context.strip().split("\n", 1)[0].split())
    if len(title) > 120:
        title = title[:120].rsplit(" ", 1)[0]
    return title or "Uten tittel"


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end == -1 else end


def _sentence_quote(context: str, start: int, end: int) -> str | None:
    """The sentence(s) of ``context`` holding the answer span, or None if unsuitable."""
    line_start, line_end = _line_bounds(context, start)
    if end > line_end:  # the answer runs over a line break
        return None
    line = context[line_start:line_end]
    ends = [
        m.end()
        for m in _SENTENCE_END.finditer(line)
        if not _ABBREVIATION.search(line, 0, m.start() + 1)
    ]
    bounds = [0, *ends, len(line)]
    rel_start, rel_end = start - line_start, end - line_start
    s_from = max(b for b in bounds if b <= rel_start)
    # Extend to the sentence holding the answer's end, so the quote always supports it.
    s_to = min(b for b in bounds if b >= rel_end)
    quote = line[s_from:s_to].strip()
    if not quote or len(quote) > MAX_QUOTE_CHARS:
        return None
    return quote


def _window_quote(context: str, start: int, end: int) -> str:
    """The answer with about WINDOW_CHARS of context either side, cut at word boundaries."""
    line_start, _ = _line_bounds(context, start)
    _, line_end = _line_bounds(context, max(start, end - 1))
    left = max(line_start, start - WINDOW_CHARS)
    right = min(line_end, end + WINDOW_CHARS)
    if left > line_start:
        space = context.find(" ", left, start)
        left = space + 1 if space != -1 else start
    if right < line_end:
        space = context.rfind(" ", end, right)
        right = space if space != -1 else end
    return context[left:right].strip()


def evidence_quote(context: str, start: int, text: str) -> str:
    """Quote from ``context`` supporting the answer ``text`` at ``start``."""
    if context[start : start + len(text)] != text:
        # Some SQuAD exports have shifted offsets; trust the text when it occurs once nearby.
        found = context.find(text, max(0, start - 50))
        if found == -1:
            found = context.find(text)
        if found == -1:
            raise KildeError(f"Answer {text!r} is not in its context; fix or drop that question.")
        start = found
    end = start + len(text.rstrip())
    return _sentence_quote(context, start, end) or _window_quote(context, start, end)


def _read_squad(squad_json: Path) -> list[dict]:
    try:
        data = json.loads(Path(squad_json).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KildeError(
            f"No SQuAD file at {squad_json}; give the path to validation.json."
        ) from None
    except json.JSONDecodeError as exc:
        raise KildeError(
            f"{squad_json} is not valid JSON ({exc}); give a SQuAD-format file."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise KildeError(f"{squad_json} has no top-level 'data' list; give a SQuAD-format file.")
    return data["data"]


def convert_norquad(squad_json: Path, out_dir: Path, limit: int | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/corpus/*.txt`` and ``out_dir/gold.jsonl`` from a SQuAD-format file.

    ``limit`` keeps the first N answerable questions and only the passages they need.
    Output is deterministic: same input, same files, byte for byte.
    """
    if limit is not None and limit < 1:
        raise KildeError(f"--limit must be at least 1, not {limit}.")
    out_dir = Path(out_dir)
    corpus_dir = out_dir / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for old in corpus_dir.iterdir():
        if old.is_file() and _OWN_FILE.match(old.name):
            old.unlink()

    passages: dict[str, _Passage] = {}
    items: list[GoldItem] = []
    id_counts: dict[str, int] = {}
    for article in _read_squad(squad_json):
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                if limit is not None and len(items) >= limit:
                    break
                answers = [a for a in qa.get("answers", []) if a.get("text", "").strip()]
                if qa.get("is_impossible") or not answers:
                    continue
                passage = passages.get(context)
                if passage is None:
                    title = _title_of(article, context)
                    name = f"{len(passages) + 1:04d}_{slugify(title)}.txt"
                    passage = passages[context] = _Passage(name, title, context)
                first = answers[0]
                quote = evidence_quote(context, int(first["answer_start"]), first["text"])
                # NorQuAD reuses ids across its Wikipedia and news parts; keep ours unique.
                base = f"nq-{qa['id']}"
                id_counts[base] = id_counts.get(base, 0) + 1
                item_id = base if id_counts[base] == 1 else f"{base}-{id_counts[base]}"
                items.append(
                    GoldItem(
                        id=item_id,
                        question=" ".join(qa["question"].split()),
                        answer=first["text"].strip(),
                        answer_aliases=answer_aliases([a["text"] for a in answers]),
                        evidence=(Evidence(file=passage.file, quote=quote),),
                        answerable=True,
                        type=guess_type(qa["question"]),
                    )
                )

    for passage in passages.values():
        with open(corpus_dir / passage.file, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(passage.text)
    gold_path = out_dir / "gold.jsonl"
    write_gold(items, gold_path)
    return corpus_dir, gold_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kilde.eval.norquad",
        description="Convert NorQuAD (SQuAD JSON) into a kilde corpus and gold file.",
    )
    parser.add_argument("src", type=Path, help="SQuAD-format JSON, e.g. validation.json")
    parser.add_argument("out", type=Path, help="output folder (gets corpus/ and gold.jsonl)")
    parser.add_argument("--limit", type=int, default=None, help="keep only the first N questions")
    args = parser.parse_args(argv)
    try:
        corpus_dir, gold_path = convert_norquad(args.src, args.out, args.limit)
    except KildeError as exc:
        print(f"error: {exc}")
        return 2

    from kilde.eval.gold import load_gold

    gold = load_gold(gold_path)
    n_files = sum(1 for p in corpus_dir.iterdir() if _OWN_FILE.match(p.name))
    by_type: dict[str, int] = {}
    for item in gold:
        by_type[item.type] = by_type.get(item.type, 0) + 1
    types = ", ".join(f"{t} {n}" for t, n in sorted(by_type.items()))
    print(f"{len(gold)} questions, {n_files} passages")
    print(f"types: {types}")
    print(f"corpus: {corpus_dir}")
    print(f"gold:   {gold_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
