"""The corpus as real paged PDFs, and the gold set pointed at them.

``python -m kilde.eval.pdf_corpus OUT_DIR`` prints every text file of ``corpus/`` into a PDF
(DejaVu Sans through fpdf2): two front-matter pages numbered i and ii, then the text with a
page break every ``--lines-per-page`` lines of the source. The printed page labels
(``/PageLabels``, written with pypdf) thus differ from the physical pages: physical page 3
prints as "1". The catalog comes along with its entries renamed to the PDFs.

With ``--gold-out``, the text gold set (``--gold``) is mapped onto the PDFs: each evidence
file becomes its PDF and gets the physical ``page`` its quote starts on. That is how
``eval/gold/kilde-pdf.jsonl`` is made; rebuild both together when the layout changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from kilde.errors import KildeError
from kilde.eval.gold import GoldItem, load_gold, validate_gold, write_gold
from kilde.eval.sources import SourceFiles
from kilde.ingest.catalog import load_catalog

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINES_PER_PAGE = 40
FRONT_MATTER = 2  # title page (i) and contents (ii)
_FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def pdf_name(text_name: str) -> str:
    return str(Path(text_name).with_suffix(".pdf").as_posix())


def write_pdf(
    path: Path, lines: list[str], title: str, publisher: str | None, lines_per_page: int
) -> int:
    """Print ``lines`` after two roman-numbered front-matter pages; returns the page count."""
    try:
        from fpdf import FPDF
    except ImportError as exc:
        raise KildeError(
            "fpdf2 is missing; install the test extras: pip install -e '.[test]'"
        ) from exc
    from pypdf import PdfReader, PdfWriter

    if not FONT.is_file():
        raise KildeError(f"{FONT} is missing; install it with: apt-get install fonts-dejavu-core")
    pdf = FPDF(format="A4")
    pdf.set_compression(True)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_title(title)
    pdf.set_creation_date(_FIXED_DATE)  # the same bytes on every build
    pdf.set_font("DejaVu", size=16)
    pdf.add_page()
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=11)
    if publisher:
        pdf.multi_cell(0, 7, publisher, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 7, "Innhold\n\nTeksten begynner på side 1.")
    pdf.set_font("DejaVu", size=10)
    for start in range(0, len(lines), lines_per_page):
        pdf.add_page()
        # A long page runs on to further physical pages; they keep counting in arabic.
        pdf.multi_cell(0, 5, "\n".join(lines[start : start + lines_per_page]))

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    n_pages = len(writer.pages)
    writer.set_page_label(0, FRONT_MATTER - 1, style="/r", start=1)
    writer.set_page_label(FRONT_MATTER, n_pages - 1, style="/D", start=1)
    with open(path, "wb") as handle:
        writer.write(handle)
    return n_pages


def build_pdf_corpus(
    corpus_dir: Path,
    out_dir: Path,
    lines_per_page: int = LINES_PER_PAGE,
    files: Iterable[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Write a PDF (and a catalog entry) for every .txt file of ``corpus_dir``, or for the
    named ``files`` only."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    names = sorted(files) if files is not None else sorted(p.name for p in corpus_dir.glob("*.txt"))
    if not names:
        raise KildeError(f"no .txt files in {corpus_dir}; give the text corpus folder")
    catalog = load_catalog(corpus_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in tqdm(names, desc="PDF-er", unit="fil", disable=not progress):
        entry = catalog.get(name)
        title = entry.title if entry and entry.title else Path(name).stem
        publisher = entry.publisher if entry else None
        lines = (corpus_dir / name).read_text(encoding="utf-8").splitlines()
        target = out_dir / pdf_name(name)
        write_pdf(target, lines, title, publisher, lines_per_page)
        written.append(target)
    _write_catalog(corpus_dir, out_dir, names)
    return written


def _write_catalog(corpus_dir: Path, out_dir: Path, names: list[str]) -> None:
    """The text corpus's catalog with its entries renamed to the PDFs."""
    source = corpus_dir / "catalog.toml"
    if not source.is_file():
        return
    text = source.read_text(encoding="utf-8")
    for name in names:
        text = text.replace(f'[files."{name}"]', f'[files."{pdf_name(name)}"]')
    (out_dir / "catalog.toml").write_text(text, encoding="utf-8")


def map_gold_to_pdfs(items: list[GoldItem], pdf_dir: Path) -> list[GoldItem]:
    """The gold items with every evidence moved to its PDF, on the page its quote starts."""
    sources = SourceFiles(pdf_dir)
    mapped = []
    for item in items:
        evidence = []
        for ev in item.evidence:
            name = pdf_name(ev.file)
            found = sources.locate(name, ev.quote)
            if not found:
                raise KildeError(
                    f"{item.id}: quote not found in {name}; the PDF layout breaks it ({ev.quote!r})"
                )
            evidence.append(dataclasses.replace(ev, file=name, page=found[0].page))
        mapped.append(dataclasses.replace(item, evidence=tuple(evidence)))
    problems = validate_gold(mapped, pdf_dir, sources)
    if problems:
        raise KildeError(f"the PDF gold set has {len(problems)} problem(s), first: {problems[0]}")
    return mapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kilde.eval.pdf_corpus", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir", type=Path, help="folder for the PDFs and their catalog")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="text corpus")
    parser.add_argument("--lines-per-page", type=int, default=LINES_PER_PAGE)
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/kilde.jsonl"))
    parser.add_argument("--gold-out", type=Path, help="write the gold set mapped to the PDFs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        written = build_pdf_corpus(
            args.corpus, args.out_dir, args.lines_per_page, progress=not args.quiet
        )
        print(f"{len(written)} PDF-er skrevet til {args.out_dir}")
        if args.gold_out:
            mapped = map_gold_to_pdfs(load_gold(args.gold), args.out_dir)
            write_gold(mapped, args.gold_out)
            print(f"{len(mapped)} gullspørsmål skrevet til {args.gold_out}")
    except KildeError as exc:
        print(f"Feil: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
