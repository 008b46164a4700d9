"""OCR accuracy and speed: Tesseract (nor) on 10 rendered pages of Norwegian text.

    .venv/bin/python bench/ocr_bench.py                 # 10 pages, 150 and 300 dpi (~3 min)
    .venv/bin/python bench/ocr_bench.py --dpi 150,200,300 --pages 4 --languages nor+eng

The pages are the corpus's own Norwegian text (cleaned as kilde reads it), cut into pages
of ~1,500 characters; some pages get a table and a footnote. tests/scans.py draws them with
DejaVu at 300 dpi into an image-only PDF, the way a scanner would. Each page is then OCR'd
through kilde's own path (pypdfium2 renders the page at the given dpi, ``tesseract`` reads
it, ``clean_text`` cleans it), and compared with the text drawn on it:

- char accuracy = 1 - edit distance / characters of the drawn text (both cleaned by
  ``clean_text`` and whitespace-squashed, so that only OCR's errors count);
- æøå words = share of the drawn words holding æ, ø or å that OCR gave back exactly;
- s/page = OCR wall seconds per page (render + Tesseract), on whatever else the machine
  does; cpu s/p = CPU seconds per page of this process and Tesseract together (for
  ocrmypdf, of its whole process tree, which runs Tesseract and Ghostscript).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/scans.py draws the pages

PAGE_CHARS = 1500
TABLE = (
    "| Kommune | Innbyggere | Andel (%) |\n"
    "| Trondheim | 214 565 | 71,2 |\n"
    "| Værnes | 14 032 | 4,7 |\n"
    "| Åfjord | 4 319 | 1,4 |"
)
FOOTNOTE = "¹ Kilde: Statistisk sentralbyrå, tabell 07459 – «Befolkning» (2025)."


def bench_pages(corpus: Path, n_pages: int) -> list[str]:
    """``n_pages`` pages of the corpus's cleaned text; every third has a table, every
    fourth a footnote."""
    from kilde.ingest.readers import iter_sources, read_source

    sentences: list[str] = []
    for path in iter_sources(corpus):
        if path.suffix == ".txt":
            for page in read_source(path, path.name).pages:
                flat = " ".join(page.text.split())
                # Sentences with a URL are left out: clean_text drops a URL that OCR
                # finds on a line of its own, which is no fault of OCR.
                sentences += [
                    s
                    for s in re.split(r"(?<=[.!?])\s+", flat)
                    if len(s) > 30 and "http" not in s and "www." not in s
                ]
    pages = []
    at = 0
    for n in range(n_pages):
        text = ""
        while len(text) < PAGE_CHARS and at < len(sentences):
            text += sentences[at] + " "
            at += 1
        text = text.strip()
        if n % 4 == 1:
            text += "¹\n" + FOOTNOTE
        if n % 3 == 2:
            text += "\n" + TABLE
        pages.append(text)
    return pages


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def nordic_words(text: str) -> Counter:
    return Counter(w for w in re.findall(r"\w+", text) if re.search(r"[æøåÆØÅ]", w))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--dpi", default="150,300", help="OCR render resolutions")
    parser.add_argument("--languages", default="nor")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument(
        "--keep-rules", default="", help="dpis to OCR at also without whitening table rules"
    )
    parser.add_argument(
        "--ocrmypdf", help="an ocrmypdf command to compare (not a kilde dependency)"
    )
    parser.add_argument(
        "--worn", action="store_true", help="scans turned, blurred, dusty and JPEG'd"
    )
    parser.add_argument("--body-pt", type=float, default=12, help="body type size (points)")
    args = parser.parse_args()

    from scans import make_scan_pdf, source_text

    from kilde.ingest.clean import clean_text
    from kilde.ingest.ocr import OcrOptions, PageOcr

    pages = bench_pages(args.corpus, args.pages)
    # What kilde would keep of a text layer holding the same words (clean_text drops URLs).
    drawn = [" ".join(clean_text(source_text(p)).split()) for p in pages]
    print(
        f"{len(pages)} pages, {sum(map(len, drawn))} characters, {args.body_pt:g} pt, "
        f"languages {args.languages}{', worn' if args.worn else ''}"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    header = f"{'dpi':>9} {'char acc':>9} {'min page':>9} {'æøå words':>10} {'s/page':>7}"
    print(header + f" {'cpu s/p':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = make_scan_pdf(Path(tmp) / "scan.pdf", pages, worn=args.worn, body_pt=args.body_pt)
        runs = [(f"{d}", int(d), True) for d in args.dpi.split(",")]
        if args.keep_rules:
            runs += [(f"{d} rules", int(d), False) for d in args.keep_rules.split(",")]
        for name, dpi, remove_rules in runs:
            options = OcrOptions(
                languages=args.languages, dpi=dpi, page_timeout_s=600, remove_rules=remove_rules
            )
            ocr = PageOcr(options)
            started, cpu = time.perf_counter(), cpu_seconds()
            read = ocr.ocr_pages(pdf, "scan.pdf", list(range(len(pages))))
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            if ocr.messages:
                print("\n".join(ocr.messages))
            got = [clean_text(read.get(i, "")) for i in range(len(pages))]
            print_row(name, got, drawn, seconds, cpu)
        if args.ocrmypdf:
            cpu = cpu_seconds()
            got, seconds = run_ocrmypdf(args.ocrmypdf, pdf, args.languages, len(pages))
            cpu = cpu_seconds() - cpu
            print_row("ocrmypdf", [clean_text(t) for t in got], drawn, seconds, cpu)


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (Tesseract): less swayed by a
    busy machine than wall time, and close to it on an idle one (Tesseract runs with
    OMP_THREAD_LIMIT=1)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def print_row(name: str, got: list[str], drawn: list[str], seconds: float, cpu: float) -> None:
    accuracy = []
    nordic_found = nordic_total = 0
    for text, truth in zip(got, drawn, strict=True):
        text = " ".join(text.split())
        accuracy.append(1 - edit_distance(text, truth) / len(truth))
        want = nordic_words(truth)
        nordic_total += sum(want.values())
        nordic_found += sum((want & nordic_words(text)).values())
    mean = sum(accuracy) / len(accuracy)
    print(
        f"{name:>9} {mean:>9.4f} {min(accuracy):>9.4f} "
        f"{nordic_found / max(1, nordic_total):>10.4f} {seconds / len(drawn):>7.2f}"
        f" {cpu / len(drawn):>7.2f}"
    )


def run_ocrmypdf(command: str, pdf: Path, languages: str, n_pages: int) -> tuple[list, float]:
    """The page texts ocrmypdf puts in its output PDF (pypdf reads them), and its seconds."""
    import subprocess

    from pypdf import PdfReader

    out = pdf.with_name("ocrmypdf.pdf")
    started = time.perf_counter()
    subprocess.run(
        [command, "-l", languages, "--jobs", "1", "--optimize", "0", "--output-type", "pdf",
         "--quiet", str(pdf), str(out)],
        check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    reader = PdfReader(out)
    return [reader.pages[i].extract_text() or "" for i in range(n_pages)], seconds


if __name__ == "__main__":
    main()
