"""The details a question pins its answer to: the names and years it asks about.

"Når innføres Helseplattformen i Helse Nord?" is about Helse Nord; a passage on Helse
Nord-Trøndelag shares every word of the question and still does not answer it. The evidence
gate asks that the passage an answer comes from names each of these details
(docs/tuning.md, Refusal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .patterns import YEAR

_TOKEN = re.compile(r"\w[\w.-]*")
_CAPITAL = re.compile(r"[A-ZÆØÅ]")
# "NSF-undersøkelsen", "EPJ-systemet": a name joined to a common noun; the name is the detail.
_COMPOUND = re.compile(r"-(?=[a-zæøå])")


@dataclass(frozen=True)
class Detail:
    text: str  # as the question writes it
    pattern: re.Pattern[str]  # how a passage that names it writes it
    # Two names side by side ("Hannibal Italia", "David Crosby Daryl Hannah") are one run of
    # capitals; a passage that has each word as a name (capitalised) names them too.
    each_word: tuple[re.Pattern[str], ...] = ()

    def named_in(self, text: str) -> bool:
        if self.pattern.search(text) is not None:
            return True
        return bool(self.each_word) and all(p.search(text) for p in self.each_word)


# A name is not a longer one: "Helse Nord" is not named by "Helse Nord-Trøndelag".
_NAME_END = r"(?!\w)(?!-(?-i:[A-ZÆØÅ]))"


def _name_pattern(words: list[str], compound: bool) -> re.Pattern[str]:
    *head, last = words
    if len(last) > 4 and last.endswith("s"):  # "Helsedirektoratets": the genitive of a name
        last = last[:-1]
    body = r"\s+".join([*map(re.escape, head), re.escape(last)]) + "s?"
    # "Helseplattform-samarbeidet" asks about Helseplattform, which "Helseplattformen" names.
    end = "" if compound else _NAME_END
    return re.compile(rf"(?<!\w){body}{end}", re.IGNORECASE)


def _word_patterns(words: list[str]) -> tuple[re.Pattern[str], ...]:
    if len(words) < 2:
        return ()
    return tuple(re.compile(rf"(?<!\w){re.escape(w)}s?{_NAME_END}") for w in words)


def asked_details(question: str) -> list[Detail]:
    """The question's names (runs of capitalised words after its first word) and years."""
    details: list[Detail] = []
    run: list[str] = []

    def close(compound: bool = False) -> None:
        if run:
            words = list(run)
            details.append(
                Detail(" ".join(words), _name_pattern(words, compound), _word_patterns(words))
            )
            run.clear()

    tokens = list(_TOKEN.finditer(question))
    for i, match in enumerate(tokens):
        word = match.group()
        if not (word.endswith(".") and len(word) <= 3):  # "St." keeps its dot, "Norge." not
            word = word.rstrip(".-")
        gap = question[tokens[i - 1].end() : match.start()] if i else ""
        if run and gap.strip():  # punctuation between two names ends the first
            close()
        if i == 0 or not _CAPITAL.match(word):
            close()
            continue
        cut = _COMPOUND.search(word)
        run.append(word[: cut.start()] if cut else word)
        if cut:
            close(compound=True)
    close()
    details += [Detail(y, re.compile(rf"\b{y}\b")) for y in YEAR.findall(question)]
    return details


def missing_details(question: str, texts: Iterable[str]) -> list[str]:
    """The details of ``question`` that none of ``texts`` names."""
    texts = list(texts)
    return [d.text for d in asked_details(question) if not any(d.named_in(t) for t in texts)]
