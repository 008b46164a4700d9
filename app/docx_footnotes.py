"""Real Word footnotes for python-docx, which has no footnote API: a ``word/footnotes.xml``
part related to the document, and ``w:footnoteReference`` runs in the text. Word and
LibreOffice number the footnotes themselves, in order of appearance."""

from __future__ import annotations

from xml.sax.saxutils import escape

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
# Word wants the two separator footnotes (ids -1 and 0) before the real ones.
_HEAD = (
    f"<w:footnotes {nsdecls('w', 'r')}>"
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
    "</w:r></w:p></w:footnote>"
)
_SUPERSCRIPT = '<w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
_SMALL = '<w:rPr><w:sz w:val="18"/></w:rPr>'


class Footnotes:
    """Collects footnotes while a document is written; ``attach`` adds the part at the end."""

    def __init__(self) -> None:
        self._notes: list[list[tuple[str, bool]]] = []

    def add(self, paragraph, pieces: list[tuple[str, bool]]) -> int:
        """A footnote reference at the end of ``paragraph`` (a python-docx Paragraph) whose
        note is ``pieces``: (text, italic) runs. Returns the footnote's id."""
        self._notes.append(pieces)
        note_id = len(self._notes)
        run = parse_xml(
            f'<w:r {nsdecls("w")}>{_SUPERSCRIPT}<w:footnoteReference w:id="{note_id}"/></w:r>'
        )
        paragraph._p.append(run)
        return note_id

    def xml(self) -> str:
        notes = []
        for note_id, pieces in enumerate(self._notes, start=1):
            runs = "".join(
                f'<w:r><w:rPr>{"<w:i/>" if italic else ""}<w:sz w:val="18"/></w:rPr>'
                f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'
                for text, italic in pieces
            )
            notes.append(
                f'<w:footnote w:id="{note_id}"><w:p>'
                f"<w:r>{_SUPERSCRIPT}<w:footnoteRef/></w:r>"
                f'<w:r>{_SMALL}<w:t xml:space="preserve"> </w:t></w:r>{runs}</w:p></w:footnote>'
            )
        return _HEAD + "".join(notes) + "</w:footnotes>"

    def attach(self, document) -> None:
        """Add the footnotes part to ``document`` (a python-docx Document), if any notes."""
        if not self._notes:
            return
        part = Part(
            PackURI("/word/footnotes.xml"),
            CONTENT_TYPE,
            self.xml().encode("utf-8"),
            document.part.package,
        )
        document.part.relate_to(part, RT.FOOTNOTES)


def footnote_texts(document) -> list[str]:
    """The text of each real footnote of a saved-and-reopened document (for tests)."""
    for rel in document.part.rels.values():
        if rel.reltype == RT.FOOTNOTES:
            root = parse_xml(rel.target_part.blob)
            w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
            out = []
            for note in root.iter(f"{w}footnote"):
                if int(note.get(f"{w}id")) > 0:
                    out.append("".join(t.text or "" for t in note.iter(f"{w}t")).strip())
            return out
    return []
