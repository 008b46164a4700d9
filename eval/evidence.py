"""Text matching for the eval harness: does a chunk, a page or a citation hold a gold quote?

Gold quotes are typed by people from the PDF, while chunks and citations come from extracted
text, so both sides are normalised the same way before they are compared: Unicode form,
odd spaces, soft hyphens and words split at a line end all differ between the two.
"""

from __future__ import annotations

import re
import unicodedata

# Spaces that PDFs use inside numbers ("39 200") and around units; they must compare equal
# to an ordinary space.
_ODD_SPACES = re.compile("[\u00a0\u202f\u2007\u2009\u200a\u2002\u2003\u2004\u2005\u2006]")
# Invisible characters that carry no text.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# A soft hyphen marks a possible break inside a word, so a line break after it is not a
# word boundary either.
_SOFT_HYPHEN = re.compile("\u00ad\\s*")
# A word hyphenated at a line end: "sam-\nhandling".
_LINE_END_HYPHEN = re.compile(r"(\w)[-\u2010][ \t]*\r?\n\s*(\w+)")
_WHITESPACE = re.compile(r"\s+")
# "helse- og omsorgstjenesten": a hyphen that stands for a shared word ending, which must
# stay when the line happens to break after it.
_CONJUNCTIONS = frozenset({"og", "eller", "samt", "til", "enn", "and", "or"})


def _join_hyphenated(match: re.Match[str]) -> str:
    before, after = match.group(1), match.group(2)
    # A suspended compound ("helse-\nog omsorg") keeps its hyphen and its space. Otherwise
    # only a lower-case letter on both sides is a syllable break: "IT-\nkostnadene" and
    # "2020-\n2024" keep their hyphen but lose the line break.
    if after.lower() in _CONJUNCTIONS:
        return match.group(0)
    if before.islower() and after[0].islower():
        return before + after
    return before + "-" + after


def normalize(text: str) -> str:
    """Normalise text for comparison: NFC, no soft hyphens, words split at a line end
    joined, all whitespace one space, stripped and casefolded."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _SOFT_HYPHEN.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = _LINE_END_HYPHEN.sub(_join_hyphenated, text)
    text = _WHITESPACE.sub(" ", text).strip()
    return text.casefold()


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _strip_punctuation(word: str) -> str:
    start, end = 0, len(word)
    while start < end and _is_punctuation(word[start]):
        start += 1
    while end > start and _is_punctuation(word[end - 1]):
        end -= 1
    return word[start:end]


def words(text: str) -> list[str]:
    """The normalised words of ``text`` with punctuation stripped from their edges.

    Inner punctuation stays ("it-kostnadene", "1,5"); a word of punctuation only is dropped.
    """
    stripped = (_strip_punctuation(word) for word in normalize(text).split(" "))
    return [word for word in stripped if word]


def word_ngrams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    """The set of word n-grams of ``text`` (empty when it has fewer than ``n`` words)."""
    tokens = words(text)
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def chunk_holds(chunk_text: str, quote: str, threshold: float = 0.5) -> bool:
    """Whether a retrieved chunk holds a gold quote.

    Containment after normalisation counts; so does holding more than ``threshold`` of the
    quote's word 4-grams, because a chunk boundary can cut a quote in two and each half is
    still the passage the question is about. Quotes of under four words need containment.
    """
    wanted = normalize(quote)
    if not wanted:
        return False
    if wanted in normalize(chunk_text):
        return True
    quote_grams = word_ngrams(quote, 4)
    if not quote_grams:
        return False
    shared = len(quote_grams & word_ngrams(chunk_text, 4))
    return shared / len(quote_grams) > threshold


def quote_on_page(quote: str, page_text: str) -> bool:
    """Whether ``quote`` stands on the page, whitespace, case and hyphenation aside."""
    wanted = normalize(quote)
    return bool(wanted) and wanted in normalize(page_text)


def overlaps(a: str, b: str) -> bool:
    """Whether two quotes refer to the same passage.

    One contains the other, or they share more than half of the shorter one's word 3-grams.
    A shorter one of under three words needs containment.
    """
    norm_a, norm_b = normalize(a), normalize(b)
    if not norm_a or not norm_b:
        return False
    if norm_a in norm_b or norm_b in norm_a:
        return True
    shorter, longer = sorted((a, b), key=lambda quote: len(words(quote)))
    short_grams = word_ngrams(shorter, 3)
    if not short_grams:
        return False
    shared = len(short_grams & word_ngrams(longer, 3))
    return shared / len(short_grams) > 0.5
