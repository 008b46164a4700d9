"""The LLM answerer: an OpenAI-compatible server writes the answer; kilde checks every claim.

The model gets the top passages, numbered ``[1]``, ``[2]``, ..., and must reply with JSON::

    {"refused": bool, "sentences": [{"text": str, "source": int, "quote": str}]}

``quote`` must be words copied from passage ``source``. Each quote is looked up in that
passage's text (whitespace and line-end hyphenation aside); where it stands becomes the
sentence's Span, so the citation's page, label and lines come from the source, never from the
model. A sentence whose quote does not stand there (or that states a figure its passage lacks)
is dropped and counted. When nothing survives, or the server fails, the default answerer
answers and the Draft carries a one-line Norwegian notice.

Refusal: the model may say ``refused``; ``LlmSettings.refusal`` says whether that stands
alone, only with the evidence gate's agreement (the default), or not at all.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from kilde.text import locate
from kilde.types import Draft, Retrieved, Span

from .llm_client import ChatClient, LlmError, TextListener, first_json_object

SYSTEM_PROMPT = (
    "Du svarer på spørsmål om norske offentlige dokumenter, og bare ut fra de nummererte "
    "utdragene du får. Svar på norsk bokmål med høyst {max_sentences} korte setninger. "
    "Hver setning skal bygge på ett utdrag og ha med et sitat: ord som er kopiert nøyaktig, "
    "tegn for tegn, fra det utdraget (ikke omskrevet, ikke oversatt). "
    "Svar bare med JSON på formen "
    '{{"refused": false, "sentences": [{{"text": "setningen din", "source": 1, '
    '"quote": "ord kopiert fra utdrag 1"}}]}}. '
    "Finnes ikke svaret i utdragene, svar "
    '{{"refused": true, "sentences": []}}.'
)

# Shows the reply while it arrives (the app sets it for one question); None: no streaming.
stream_listener: ContextVar[TextListener | None] = ContextVar("stream_listener", default=None)

_FIGURE = re.compile(r"\d+(?:[ ,.]\d+)*")
_EDGE = " \t\n\"'«»“”‘’.,;:"
# A word broken at line end: "offent-\nlige" (the quote says "offentlige").
_HYPHEN_BREAK = re.compile(r"(?<=\w)-[ \t]*\n[ \t]*(?=\w)")


@contextlib.contextmanager
def streaming(listener: TextListener) -> Iterator[None]:
    """Within this block, LLM replies are passed to ``listener`` piece by piece."""
    token = stream_listener.set(listener)
    try:
        yield
    finally:
        stream_listener.reset(token)


@dataclass(frozen=True)
class Claim:
    """One sentence of the model's reply: what it says, and the words it cites for it."""

    text: str
    source: int  # 1-based passage number
    quote: str


@dataclass(frozen=True)
class Reply:
    refused: bool
    claims: tuple[Claim, ...]
    malformed: int = 0  # sentence entries that were not {"text", "source", "quote"}


def build_messages(question: str, passages: Sequence[Retrieved], max_sentences: int) -> list:
    """The chat messages: instructions, then the numbered passages and the question."""
    lines = []
    for n, hit in enumerate(passages, start=1):
        chunk = hit.chunk
        where = f", s. {chunk.page_label or chunk.page}" if chunk.page is not None else ""
        body = " ".join(chunk.text.split())
        lines.append(f"[{n}] ({chunk.title}{where}) {body}")
    user = "Utdrag:\n" + "\n".join(lines) + f"\n\nSpørsmål: {question}\nSvar med JSON."
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(max_sentences=max_sentences)},
        {"role": "user", "content": user},
    ]


def parse_reply(text: str) -> Reply:
    """The model's reply as a Reply; LlmError when it holds no JSON object of that shape."""
    data = first_json_object(text)
    if data is None:
        raise LlmError("svarte ikke med gyldig JSON")
    sentences = data.get("sentences", [])
    if not isinstance(sentences, list):
        raise LlmError("svarte med JSON uten en liste «sentences»")
    claims, malformed = [], 0
    for entry in sentences:
        if not isinstance(entry, dict):
            malformed += 1
            continue
        text, source, quote = entry.get("text"), entry.get("source"), entry.get("quote")
        if isinstance(source, str) and source.strip().strip("[]").isdigit():
            source = int(source.strip().strip("[]"))  # "2" or "[2]": the number is clear
        if (
            not isinstance(text, str)
            or not text.strip()
            or not isinstance(quote, str)
            or isinstance(source, bool)
            or not isinstance(source, int)
        ):
            malformed += 1
            continue
        claims.append(Claim(text=text.strip(), source=source, quote=quote))
    return Reply(refused=data.get("refused") is True, claims=tuple(claims), malformed=malformed)


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text``, whitespace and line-end hyphenation aside; quote marks
    and punctuation at the quote's edges are not part of it."""
    quote = quote.strip(_EDGE)
    if len(quote.split()) < 2 and not _FIGURE.search(quote):
        return None  # one bare word stands anywhere; it cites nothing
    found = locate(text, quote)
    if found is not None:
        return found
    # "offent-\nlige" in the source, "offentlige" in the quote: search the joined text and map
    # the offsets back.
    joined, origin = [], []
    last = 0
    for match in _HYPHEN_BREAK.finditer(text):
        joined.append(text[last : match.start()])
        origin.extend(range(last, match.start()))
        last = match.end()
    if last == 0:
        return None  # no broken word in the text: nothing more to try
    joined.append(text[last:])
    origin.extend(range(last, len(text)))
    found = locate("".join(joined), quote)
    if found is None:
        return None
    start, end = found
    return origin[start], origin[end - 1] + 1


def figures_stand(claim: str, passage: str) -> bool:
    """Every figure the sentence states stands in its passage: a changed number in the model's
    own words is caught even when its quote is right."""
    figures = _FIGURE.findall(passage)
    whole = {re.sub(r"\D", "", f) for f in figures}
    parts = {p for f in figures for p in re.split(r"\D+", f)}
    for figure in _FIGURE.findall(claim):
        if re.sub(r"\D", "", figure) in whole:
            continue
        if not all(p in parts for p in figure.split()):  # "i 2025 34 kommuner": two figures
            return False
    return True


def verify_claim(claim: Claim, passages: Sequence[Retrieved]) -> Span | None:
    """The claim's quote as a Span of its page, or None when the quote does not stand in the
    passage it names (or the sentence states a figure that passage lacks)."""
    if not 1 <= claim.source <= len(passages):
        return None
    chunk = passages[claim.source - 1].chunk
    found = find_quote(chunk.text, claim.quote)
    if found is None or not figures_stand(claim.text, chunk.text):
        return None
    start, end = found
    return Span(
        chunk=chunk,
        start=chunk.start + start,
        end=chunk.start + end,
        text=chunk.text[start:end],
        claim=claim.text,
    )


class LlmAnswerer:
    """Answerer stage: the model writes, kilde verifies. It runs the evidence gate itself (the
    pipeline gives it an open gate), because with ``refusal = both`` a gate refusal needs the
    model's agreement."""

    name = "llm"

    def __init__(
        self,
        client: ChatClient,
        fallback,
        gate,
        refusal: str = "both",
        passages: int = 5,
        max_sentences: int = 3,
        max_tokens: int = 600,
    ):
        self.client = client
        self.fallback = fallback  # the default answerer (rules)
        self.gate = gate
        self.refusal = refusal
        self.passages = passages
        self.max_sentences = max_sentences
        self.max_tokens = max_tokens

    def draft(self, question: str, query: str, passages: Sequence[Retrieved]) -> Draft:
        gate_refuses = self.gate.check(query, passages).refuse
        if gate_refuses and self.refusal in ("either", "gate"):
            return Draft(answerer=self.name, refusal="coverage")  # the gate's word is enough
        shown = list(passages[: self.passages])
        if not shown:
            return Draft(answerer=self.name)
        try:
            text = self.client.chat(
                build_messages(question, shown, self.max_sentences),
                self.max_tokens,
                on_text=stream_listener.get(),
            )
            reply = parse_reply(text)
        except LlmError as exc:
            return self._fallback(question, query, passages, gate_refuses, str(exc))
        if reply.refused and self._refusal_stands(gate_refuses, model_refuses=True):
            return Draft(answerer=self.name)
        spans = [verify_claim(c, shown) for c in reply.claims[: self.max_sentences]]
        kept = tuple(s for s in spans if s is not None)
        dropped = len(spans) - len(kept) + reply.malformed
        if kept:
            return Draft(spans=kept, answerer=self.name, dropped_claims=dropped)
        if reply.refused:
            reason = "fant ikke svar, men dokumentene ser ut til å dekke spørsmålet"
        elif reply.claims or reply.malformed:
            reason = "skrev ingen setning med et sitat som står i kilden"
        else:
            reason = "svarte uten setninger"
        return self._fallback(question, query, passages, gate_refuses, reason, dropped)

    def _refusal_stands(self, gate_refuses: bool, model_refuses: bool) -> bool:
        if self.refusal == "both":
            return gate_refuses and model_refuses
        if self.refusal == "either":
            return gate_refuses or model_refuses
        if self.refusal == "gate":
            return gate_refuses
        return model_refuses  # "model"

    def _fallback(
        self,
        question: str,
        query: str,
        passages: Sequence[Retrieved],
        gate_refuses: bool,
        reason: str,
        dropped: int = 0,
    ) -> Draft:
        """What the default pipeline answers (a refusal when the gate refuses, else the rules
        answerer's draft), with a notice saying why the model's answer is not shown."""
        notice = f"Språkmodellen {reason}; kilde svarte uten den (standardsvareren)."
        if gate_refuses:
            return Draft(answerer=self.fallback.name, dropped_claims=dropped, notice=notice)
        draft = self.fallback.draft(question, query, passages)
        return Draft(
            spans=draft.spans, answerer=draft.answerer, dropped_claims=dropped, notice=notice
        )
