"""Clean text extracted from PDFs so that sentences are whole and lines mean something.

PDF text comes as one line per printed line, often with a blank line after every line, words
hyphenated at line ends, odd spaces and repeated footnote links. ``clean_text`` turns that
into paragraphs separated by one blank line, with running sentences joined, while table rows
and bullets stay lines of their own. It only ever joins, drops or normalises whitespace and
a few invisible or typographic characters, so the words stay as printed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kilde.text.headings import is_heading, is_section_line
from kilde.text.lexicon import ABBREVIATIONS, FUNCTION_WORDS, MONTHS

# Characters that print as a space; PDFs use them in numbers ("39 200") and after "§".
_SPACES = {
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space
    "\u2009": " ",  # thin space
    "\u2007": " ",  # figure space
    "\u2002": " ",
    "\u2003": " ",
    "\u200a": " ",
    "\t": " ",
}
# Invisible characters that only split words for search and quoting.
_DROP = {"\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": ""}
# Typographic variants that mean the plain character.
_VARIANTS = {
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen ("Midt‑Norge", "e‑resept")
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
}
_TRANSLATE = str.maketrans({**_SPACES, **_DROP, **_VARIANTS})

# Symbol-font bullets come out as private-use characters (U+F0B7, U+F097, ...).
_PRIVATE_BULLET = re.compile(r"^[\ue000-\uf8ff](?=\s)")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")

_URL = r"(?:https?://|www\.)\S+"
# A line that is only a link, or a footnote number and a link ("52 https://..."). PDFs repeat
# their link annotations as such lines, so they carry nothing a reader would quote.
_URL_LINE = re.compile(rf"^(?:\d{{1,3}}\.?\s+)?<?{_URL}>?$")

# Bullets and list markers: such a line starts a new line, never continues the one before.
# "o " is the hollow bullet of slides exported from PowerPoint.
_BULLET = re.compile(r"^(?:[•◦▪▫●○■□►▶➢➤✓✔·*\-–—]|o(?=\s|$))(?:\s|$)")
_ENUMERATOR = re.compile(r"^(?:\(\d{1,3}\)|\d{1,3}\)|\([a-zæøå]\))(?:\s|$)")

# Sentence-final punctuation, maybe followed by closing quotes/brackets and a footnote number.
_FINAL = re.compile(r"(?:[.!?][»\"”’')\]]*\d{0,3}|:[»\"”’')\]]*)$")
# Words after a hyphen at line end that show the hyphen is a real one: "helse- og omsorg".
_HYPHEN_CONJUNCTIONS = {"og", "eller", "samt"}

# A number as tables print it: "1 309" is two tokens, "12,5", "(58", "%)", "2019–2024".
_NUMBER_TOKEN = re.compile(r"^[(\[]?[-+–]?\d[\d.,–-]*[%)\]]*[.,;:]?$")
# A line starting with a number that goes on with the sentence ("2 prosentpoeng", "25 %",
# "2019-kroner"),
# but not a footnote ("52 Meld. St. 9") or a numbered heading ("2. Metode").
_NUMBER_CONTINUES = re.compile(
    r"^(?:\d{1,3}(?:[  ]\d{3})+|\d+)(?:,\d+)?(?=\s*%|\s+[a-zæøåäöüé]|-[a-zæøå]|\s*[,;)]|$)"
    r"|^(?:19|20)\d\d\.(?=\s|$)"  # a year ending the sentence: "i oktober\n2025."
)
_ORDINAL_END = re.compile(r"(?:^|\s)\d{1,2}\.$")
# Captions start a line of their own even after a line that runs on.
_CAPTION = re.compile(r"^(?:Figur|Tabell|Kilde|Vedlegg)\b")
# A line at least this long was wrapped by the layout, not ended by the author.
_WRAPPED_LINE = 60
_WRAPPED_BULLET_LINE = 75
_LOWER_START = re.compile(r"^[«\"“]?[a-zæøåäöüé]")
_UPPER_START = re.compile(r"^[«\"“]?[A-ZÆØÅÄÖÜÉ]")
_LOWER_WORD = re.compile(r"^[a-zæøåäöüé]{2,}$")


def normalise_chars(text: str) -> str:
    """Character-level clean-up only: NFC, plain spaces, no soft hyphens, one space runs.

    Line breaks are kept as they are (``\\r\\n`` and ``\\r`` become ``\\n``).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    return re.sub(r"[ ]{2,}", " ", text)


@dataclass(frozen=True)
class CleanedText:
    """Cleaned text and where its lines came from.

    ``line_map`` holds one ``(offset, line)`` pair per source line kept: the text of the
    1-based source ``line`` starts at ``offset`` in ``text`` and runs until the next pair's
    offset. Lines count as an editor counts them (``\\r\\n``, ``\\r`` and ``\\n`` end a line).
    """

    text: str
    line_map: tuple[tuple[int, int], ...]


def clean_text(raw: str) -> str:
    """Clean extracted text: whole sentences, paragraphs split by one blank line."""
    return clean_text_mapped(raw).text


def clean_text_mapped(raw: str) -> CleanedText:
    """``clean_text`` and the map from the cleaned text back to the lines of ``raw``."""
    text = normalise_chars(raw).replace("\f", "\n\n")
    lines = [_tidy_line(line) for line in text.split("\n")]
    items = _items(lines)
    if not items:
        return CleanedText("", ())
    double = _double_spaced([gap for _, gap, _ in items[1:]])
    paragraph_gap = 2 if double else 1

    out: list[str] = [items[0][0]]
    line_map = [(0, items[0][2])]
    done = 0  # length of out[:-1] joined: every item ends the last piece of out
    prev_line = items[0][0]  # the previous physical line: its length shows a wrap
    for line, gap, number in items[1:]:
        joined = _join(out[-1], prev_line, line, hard=gap >= paragraph_gap)
        if joined is not None:
            out[-1] = joined
        else:
            done += len(out[-1])
            if (
                gap >= paragraph_gap
                or (double and gap == 1 and _paragraph_end(out[-1]))
                or _ends_in_heading(out[-1], len(out) == 1, line)
            ):
                out.append("\n\n" + line)
            else:
                out.append("\n" + line)
        line_map.append((done + len(out[-1]) - len(line), number))
        prev_line = line
    # _tidy_line leaves no space runs and joins add single spaces between non-space ends, so
    # the offsets in line_map hold for this text as it is.
    return CleanedText("".join(out), tuple(line_map))


def kept_line(line: str) -> str:
    """A source line as cleaning keeps it: tidied, or "" for a line it drops (a bare link).

    ``line`` must have been through ``normalise_chars``."""
    line = _tidy_line(line)
    return "" if _URL_LINE.match(line) else line


def _tidy_line(line: str) -> str:
    line = line.strip()
    line = _PRIVATE_BULLET.sub("•", line)
    return re.sub(r"[ ]{2,}", " ", _PRIVATE_USE.sub("", line)).strip()


def _items(lines: list[str]) -> list[tuple[str, int, int]]:
    """Non-empty lines with the number of blank lines before each and their 1-based line
    number; link-only lines dropped."""
    items: list[tuple[str, int, int]] = []
    gap = 0
    for number, line in enumerate(lines, start=1):
        if not line or _URL_LINE.match(line):
            gap += 1
            continue
        items.append((line, gap, number))
        gap = 0
    return items


def _double_spaced(gaps: list[int]) -> bool:
    """True for text with a blank line after (nearly) every line, as many PDF tools write.

    There a single blank line says nothing, and only longer gaps mark paragraphs.
    """
    if len(gaps) < 4:
        return False
    return sum(1 for g in gaps if g == 1) >= 0.6 * len(gaps)


def _join(prev: str, prev_line: str, line: str, hard: bool = False) -> str | None:
    """``prev`` and ``line`` as one line if ``line`` continues the text of ``prev``, else None.

    ``prev`` is the text so far (maybe several lines), ``prev_line`` the physical line that
    ends it; ``hard`` says a paragraph gap lies between them (a title, or a page break).
    """
    if _is_list_item(line) or _is_numeric(line) or _CAPTION.match(line):
        return None
    if _is_numeric(prev_line):
        return None
    if (
        is_section_line(prev_line)
        and prev.rsplit("\n", 1)[-1] == prev_line
        and _UPPER_START.match(line)
    ):
        return None  # "4.5. Meldte feilsaker …" is a heading, however long, not a wrapped line
    hyphenated = _join_hyphen(prev, line)
    if hyphenated is not None:
        return hyphenated
    if not re.search(r"[^\W_]", prev_line):  # "?" or "•" alone: a slide fragment
        return None
    if _ORDINAL_END.search(prev_line) and line.split(maxsplit=1)[0].lower() in MONTHS:
        return prev + " " + line  # "25.\nseptember 2025"
    if _ends_sentence(prev_line):
        return None
    if _LOWER_START.match(line) or line.startswith(("(", "%")):
        return prev + " " + line
    if _NUMBER_CONTINUES.match(line) and _number_may_follow(prev_line):
        return prev + " " + line
    if _is_label(line):  # "Svaralternativer:" starts a block of its own
        return None
    if _UPPER_START.match(line) and (
        _runs_on(prev_line) or (not hard and _wrapped(prev, prev_line))
    ):
        return prev + " " + line
    return None


def _ends_in_heading(piece: str, first: bool, next_line: str) -> bool:
    """The piece of output so far ends in a heading line: the text after it starts a new
    paragraph, so that no sentence swallows the heading."""
    body = piece.lstrip("\n")
    alone = "\n" not in body and (first or piece.startswith("\n\n"))
    return is_heading(body.rsplit("\n", 1)[-1], alone, next_line)


def _is_label(line: str) -> bool:
    return line.endswith(":") and len(line) <= 40 and bool(_UPPER_START.match(line))


def _wrapped(prev: str, prev_line: str) -> bool:
    """A long line of running text that stops at a word: the layout wrapped it.

    A bullet item may end without a full stop, so its lines must be longer to count.
    """
    if not re.search(r"[^\W\d_]$", prev_line):
        return False
    if _is_list_item(prev.rsplit("\n", 1)[-1]):
        return len(prev_line) >= _WRAPPED_BULLET_LINE
    return len(prev_line) >= _WRAPPED_LINE


def _number_may_follow(line: str) -> bool:
    """A number on the next line goes on with this one ("økning på / 2 prosentpoeng").

    Short lines ending in a plain word are slide or table fragments, and a line ending in a
    bracket or quote ends a caption or a reference; the number then starts something new.
    """
    if _runs_on(line) or re.search(r"[\d(]$", line):
        return True
    return len(line) >= _WRAPPED_LINE and bool(re.search(r"[^\W\d_]$", line))


def _join_hyphen(prev: str, line: str) -> str | None:
    """Join a word broken at a hyphen at line end, keeping the hyphen where it is real."""
    if re.search(r"\d–$", prev) and line[:1].isdigit():  # "2032–\n2033"
        return prev + line
    match = re.search(r"(\S+)-$", prev)
    if not match or not re.match(r"[^\W_]", line):
        return None
    head = match.group(1)
    first_word = line.split(maxsplit=1)[0]
    if first_word in _HYPHEN_CONJUNCTIONS:  # "helse- og omsorgstjenesten"
        return prev + " " + line
    if _LOWER_WORD.match(head) and _LOWER_START.match(line):  # "sam-\nhandling"
        return prev[:-1] + line
    # "Midt-Norge", "IT-kostnadene", "e-helse", "2023-undersøkelsen", links
    return prev + line


def _runs_on(line: str) -> bool:
    """The line ends where no sentence can end: after a comma, a word like "i" or "ved", or
    an abbreviation ("St.\nOlavs")."""
    if line.endswith((",", ";")):
        return True
    word = _last_word(line)
    return word in FUNCTION_WORDS or _is_abbreviation(word)


def _ends_sentence(line: str) -> bool:
    if not _FINAL.search(line):
        return False
    return not _is_abbreviation(_last_word(line))


def _paragraph_end(line: str) -> bool:
    """In double-spaced text: a line ending a sentence probably ends its paragraph too."""
    last_line = line.rsplit("\n", 1)[-1]
    return _ends_sentence(last_line) and not _is_list_item(last_line)


def _is_abbreviation(word: str) -> bool:
    """ "kl.", "f.eks.": a full stop that shortens a word, not one that ends a sentence."""
    return word.endswith(".") and word[:-1] in ABBREVIATIONS


def _last_word(line: str) -> str:
    parts = line.rsplit(maxsplit=1)
    return parts[-1].lower() if parts else ""


def _is_list_item(line: str) -> bool:
    return bool(_BULLET.match(line) or _ENUMERATOR.match(line))


def _is_numeric(line: str) -> bool:
    """Mostly numbers: a table row (or a page number) that must stay a line of its own."""
    if line.endswith("."):  # a sentence that happens to hold numbers ("(52 %) i 2024.")
        return False
    tokens = line.split()
    numbers = sum(1 for t in tokens if _NUMBER_TOKEN.match(t))
    words = sum(1 for t in tokens if re.search(r"[^\W\d_]", t))
    if numbers == 1 and len(tokens) == 1:
        return True
    return numbers >= 2 and numbers >= words
