"""Section headings in cleaned text, and the heading a passage stands under.

A heading is a numbered section ("5.3 Program for økt brukervennlighet", "2 Metode"), or a
short line that stands alone after a paragraph break, is not a sentence, and is not a table
row, a footnote, a caption or a link. When unsure, there is no heading: a citation says less
rather than something wrong.
"""

from __future__ import annotations

import re

# "5.3 Tittel", "1.2. Tittel", "5.4.1 Tittel": a section number with a dot inside.
_SECTION = re.compile(r"^\d{1,2}(?:\.\d{1,2})+\.?\s+[«\"(]?[A-ZÆØÅ]")
# "2 Metode", "3. Funn": a chapter number alone; footnotes look the same, so more must hold.
_CHAPTER = re.compile(r"^\d{1,2}[.)]?\s+[A-ZÆØÅ]")
_CAPTION = re.compile(r"^(?:Figur|Tabell|Kilde|Note|Merknad)\b", re.IGNORECASE)
_LINK = re.compile(r"https?://|www\.|<[^>]*>")
_SENTENCE_END = (".", ",", ";", ":", "!")
_YEAR_OR_REFERENCE = re.compile(r"\b(?:19|20)\d\d\b|\(|\bs\.\s*\d|\bjf\b")
_RUNS_ON = {"og", "i", "for", "til", "av", "med", "på", "om", "som", "de", "en", "et", "fra"}
MAX_HEADING_CHARS = 100


def is_heading(line: str, alone: bool, next_line: str | None) -> bool:
    """Whether ``line`` (one line of cleaned text) is a section heading. ``alone`` says a
    paragraph break (or the start of the text) stands before it; ``next_line`` is the next
    non-empty line, which under a heading without a number must be running text (a chart
    legend or a list of answer options is followed by more short lines); None leaves what
    follows out of it, for a line that only needs the shape of a heading."""
    line = line.strip()
    if not line or len(line) > MAX_HEADING_CHARS or _LINK.search(line) or "|" in line:
        return False
    words = line.split()
    if words[-1].lower() in _RUNS_ON:  # "5 Kommuner har ikke tidfestet når de": a fragment
        return False
    if _SECTION.match(line):
        return len(words) <= 15 and not line.endswith(_SENTENCE_END)
    if not alone or line.endswith((*_SENTENCE_END, "?")) or _CAPTION.match(line):
        return False
    if _CHAPTER.match(line):  # not a footnote: short, no year, no reference
        return (
            len(words) <= 12
            and len(line) <= 90
            and not _YEAR_OR_REFERENCE.search(line)
            and (next_line is None or _prose(next_line) or bool(_SECTION.match(next_line)))
        )
    if not re.match(r"[«\"]?[A-ZÆØÅ]", line) or len(words) > 10 or len(line) > 80:
        return False
    if line.startswith("«") and not line.endswith("»"):  # a quotation starts here
        return False
    if words[0].endswith(",") or line.count(",") >= 2:  # "Ja, jeg har …", "Røros, Os, …"
        return False  # an answer option or a list of names, not a title
    digits = sum(ch.isdigit() for ch in line)
    # More figures than that: a table row.
    return digits <= 0.15 * len(line) and (next_line is None or _prose(next_line))


def _prose(line: str) -> bool:
    """Running text: a sentence, or a line long enough to be one wrapped by the layout."""
    words = line.split()
    if not words or words[0][:1].isdigit() and len(words) < 8:
        return False
    return len(words) >= 8 or (len(words) >= 4 and line.rstrip().endswith((".", "!", "?")))


def is_section_line(line: str) -> bool:
    """A numbered section heading ("4.5. Meldte feilsaker …"), a heading wherever it stands."""
    return bool(_SECTION.match(line.strip())) and is_heading(line, False, "")


def section_heading(text: str, offset: int) -> str | None:
    """The nearest heading before ``offset`` in cleaned ``text``, or None.

    A line that stands more than once in the text (a chart legend, a running header) is no
    heading."""
    lines = text[:offset].split("\n")
    lines[-1] = ""  # the line the passage starts on is its own text, not its heading
    following = text[offset:].strip().split("\n", 1)[0]
    for i in range(len(lines) - 2, -1, -1):
        if lines[i].strip():
            alone = i == 0 or not lines[i - 1].strip()
            if is_heading(lines[i], alone, following) and not _repeated(text, lines[i]):
                return lines[i].strip()
            following = lines[i]
    return None


def _repeated(text: str, line: str) -> bool:
    return len(re.findall(rf"(?m)^{re.escape(line.strip())}$", text)) > 1
