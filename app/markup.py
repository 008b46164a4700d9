"""Safe HTML for the chat. Document text is untrusted: everything that reaches
``st.markdown(..., unsafe_allow_html=True)`` is built from ``escape_html``: HTML-escaped,
markdown-active characters turned into numeric entities, newlines into ``<br>``, wrapped in
one ``<div>`` on one line, so that Markdown sees a raw HTML block and parses nothing inside
it. Only the ``<mark>``, ``<span>`` and ``<div>`` tags written here are live HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import TYPE_CHECKING

from kilde.text import locate

if TYPE_CHECKING:
    pass


# Characters that Markdown, GFM, math, emoji shortcodes or Streamlit's directives treat
# specially; as numeric entities they are plain text to every one of them.
_MD_ACTIVE = "\\`*_[](){}#!|~$:^=+-"


_MD_TABLE = {ord(c): f"&#{ord(c)};" for c in _MD_ACTIVE}


_WS = re.compile(r"\s+")


_BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)+")


def escape_html(text: str) -> str:
    """``text`` as inert HTML on one line: escaped, markdown-neutral, newlines as <br>."""
    escaped = html.escape(text, quote=True).translate(_MD_TABLE)
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n")
    escaped = _BLANK_LINES.sub('<span class="kilde-par"></span>', escaped)
    return escaped.replace("\n", "<br>")


def escape_markdown(text: str) -> str:
    """``text`` for a widget label (Markdown, no HTML): active characters backslash-escaped."""
    text = _WS.sub(" ", text).strip()
    return re.sub(r"([\\`*_\[\](){}#!|~$<>+\-.:^=])", r"\\\1", text)


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text``, whitespace aside (quotes are whitespace-squashed)."""
    return locate(text, quote)


def highlight_html(text: str, span: tuple[int, int] | None) -> str:
    """Escaped ``text`` with ``text[span]`` wrapped in <mark>."""
    if span is None:
        return escape_html(text)
    start, end = span
    return (
        escape_html(text[:start])
        + "<mark>"
        + escape_html(text[start:end])
        + "</mark>"
        + escape_html(text[end:])
    )


def block(inner_html: str, css_class: str) -> str:
    """One raw-HTML block for st.markdown: a div on a single line."""
    return f'<div class="{css_class}">{inner_html}</div>'


def stamp(now: dt.datetime) -> str:
    return now.strftime("%d.%m.%Y kl. %H:%M")
