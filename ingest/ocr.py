"""OCR of scanned PDF pages with Tesseract, one page at a time, with a cache per file.

A page is rendered with pypdfium2 and handed to the ``tesseract`` command on stdin (what
pytesseract does, without its global settings), so that each page has its own time limit and
keeps its physical page number and printed label. Results are cached by the file's sha256, so
a re-ingest (new embedder, new chunking) does not OCR the same scan again.

A missing Tesseract, or missing language data, costs only the scanned pages: they are
skipped, the rest of the corpus is indexed, and one Norwegian line says what to install.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from kilde.config import IndexSettings

OCR_MODES = ("auto", "off", "force")
# Rendering resolution. In bench/ocr_bench.py 150 dpi read as well as 300 dpi on clean
# scans and better on worn ones (also with 8 pt type), for ~40% less CPU (docs/ocr.md).
OCR_DPI = 150
# In auto mode a page with a text layer is OCR'd only when it has fewer cleaned characters
# than this and an image covers at least IMAGE_SHARE of it (a scan with a stamped header).
FEW_CHARS = 100
IMAGE_SHARE = 0.5
INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-nor"
CACHE_VERSION = 1
_SPACED_HYPHEN = re.compile(r"(?<=\S) - (?=\S)")


@dataclass(frozen=True)
class OcrOptions:
    mode: str = "auto"  # auto: pages without a text layer; off: never; force: every PDF page
    languages: str = "nor"  # Tesseract's -l, e.g. "nor+eng"
    page_timeout_s: float = 120.0
    dpi: int = OCR_DPI
    tesseract: str = "tesseract"  # the command, found on PATH
    remove_rules: bool = True  # whiten table rules before OCR (see _without_rules)

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> OcrOptions:
        """The options the ``index`` section of ``kilde.config.Settings`` gives."""
        return cls(
            mode=settings.ocr,
            languages=settings.ocr_languages,
            page_timeout_s=float(settings.ocr_page_timeout_s),
        )

    def signature(self) -> dict:
        """What an indexed PDF's text depends on; a change means reading PDFs again."""
        return {"mode": self.mode, "languages": self.languages, "dpi": self.dpi}


@dataclass
class OcrStats:
    pages: int = 0  # pages OCR'd now
    cached: int = 0  # pages taken from the cache
    failed: int = 0  # pages skipped: time limit, Tesseract error or no Tesseract
    seconds: float = 0.0


class PageOcr:
    """OCR for one ingest: decides which pages need it, runs Tesseract, caches, counts.

    ``cache_dir`` holds one JSON file per (sha256, languages, dpi); None disables caching.
    The progress bar ("OCR", in pages) is separate from the file and embedding bars.
    """

    def __init__(self, options: OcrOptions, cache_dir: Path | None = None, progress: bool = False):
        if options.mode not in OCR_MODES:
            raise ValueError(f"ocr mode must be one of {', '.join(OCR_MODES)}")
        self.options = options
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.progress = progress
        self.stats = OcrStats()
        self.messages: list[str] = []  # one line each, for the ingest report
        self._bar: tqdm | None = None
        self._ready: bool | None = None  # None until Tesseract has been looked for
        # Set by ingest when the index was built with other OCR settings: unchanged PDFs are
        # then read again rather than reused (their OCR'd pages may read differently).
        self.reread_pdfs = False

    # --- which pages -------------------------------------------------------------------

    def pages_to_ocr(self, path: Path, texts: list[str]) -> list[int]:
        """0-based pages of the PDF at ``path`` to OCR, given each page's cleaned text layer."""
        mode = self.options.mode
        if mode == "off":
            return []
        if mode == "force":
            return list(range(len(texts)))
        todo = [i for i, text in enumerate(texts) if not text]
        few = [i for i, text in enumerate(texts) if text and len(text) < FEW_CHARS]
        if few:
            todo += [i for i in few if image_share(path, i) >= IMAGE_SHARE]
        return sorted(todo)

    # --- running -------------------------------------------------------------------------

    def ocr_pages(self, path: Path, rel: str, pages: list[int]) -> dict[int, str]:
        """Raw OCR text of each page in ``pages`` that could be read (others are left out);
        ``rel`` names the file in messages."""
        if not pages:
            return {}
        cache_file, cached = self._load_cache(path)
        found = {i: cached[str(i)] for i in pages if str(i) in cached}
        self.stats.cached += len(found)
        todo = [i for i in pages if i not in found]
        if not todo:
            return found
        if not self._tesseract_ready():
            self.stats.failed += len(todo)
            return found
        bar = self._progress_bar(len(todo))
        for i in todo:
            started = time.perf_counter()
            text = self._ocr_one(path, rel, i)
            self.stats.seconds += time.perf_counter() - started
            bar.update(1)
            if text is None:
                self.stats.failed += 1
                continue
            self.stats.pages += 1
            found[i] = cached[str(i)] = text
            self._save_cache(cache_file, cached)  # after each page: an interrupt keeps them
        return found

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def prune_cache(self, keep_sha256: set[str]) -> None:
        """Remove cached OCR of files no longer in the corpus."""
        if self.cache_dir is None or not self.cache_dir.is_dir():
            return
        for entry in self.cache_dir.glob("*.json"):
            if entry.name.split("-", 1)[0] not in keep_sha256:
                entry.unlink(missing_ok=True)

    def _ocr_one(self, path: Path, rel: str, index: int) -> str | None:
        opts = self.options
        try:
            png = render_page_png(path, index, opts.dpi, opts.remove_rules)
        except Exception as exc:  # pdfium raises its own errors on damaged pages
            self.messages.append(f"{rel} s. {index + 1}: siden kunne ikke tegnes ({exc})")
            return None
        command = [opts.tesseract, "stdin", "stdout", "-l", opts.languages, "--psm", "3"]
        try:
            done = subprocess.run(
                command,
                input=png,
                capture_output=True,
                timeout=opts.page_timeout_s,
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            )
        except subprocess.TimeoutExpired:
            self.messages.append(
                f"{rel} s. {index + 1}: OCR tok over {opts.page_timeout_s:g} s og ble "
                "hoppet over; øk ocr_page_timeout_s"
            )
            return None
        if done.returncode != 0:
            error = " ".join(done.stderr.decode("utf-8", "replace").split())[:120]
            self.messages.append(f"{rel} s. {index + 1}: Tesseract feilet ({error})")
            return None
        return _norwegian_dashes(done.stdout.decode("utf-8", "replace"))

    def _tesseract_ready(self) -> bool:
        """Tesseract and its language data are installed; else say once what to install."""
        if self._ready is not None:
            return self._ready
        self._ready = False
        command = shutil.which(self.options.tesseract)
        if command is None:
            self.messages.append(
                f"Tesseract er ikke installert, så skannede sider ble hoppet over; "
                f"installer det med: {INSTALL_HINT}"
            )
            return False
        try:
            listed = subprocess.run(
                [command, "--list-langs"], capture_output=True, timeout=30, text=True
            )
        except (OSError, subprocess.TimeoutExpired):
            self.messages.append(
                f"Tesseract ({command}) svarer ikke, så skannede sider ble hoppet over; "
                f"installer det på nytt: {INSTALL_HINT}"
            )
            return False
        have = set((listed.stdout + listed.stderr).split())
        missing = [lang for lang in self.options.languages.split("+") if lang not in have]
        if missing:
            packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
            self.messages.append(
                f"Tesseract mangler språkdata for {'+'.join(missing)}, så skannede sider ble "
                f"hoppet over; installer: apt-get install {packages}"
            )
            return False
        self._ready = True
        return True

    def _progress_bar(self, more: int) -> tqdm:
        """One OCR bar for the whole ingest; its total grows as files with scans turn up."""
        if self._bar is None:
            self._bar = tqdm(total=0, desc="OCR", unit="side", disable=not self.progress)
        self._bar.total += more
        self._bar.refresh()
        return self._bar

    # --- cache ---------------------------------------------------------------------------

    def _load_cache(self, path: Path) -> tuple[Path | None, dict[str, str]]:
        if self.cache_dir is None:
            return None, {}
        opts = self.options
        lang = opts.languages.replace("+", "_")
        cache_file = self.cache_dir / f"{sha256_of(path)}-{lang}-{opts.dpi}.json"
        try:
            data = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache_file, {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return cache_file, {}
        pages = data.get("pages")
        return cache_file, dict(pages) if isinstance(pages, dict) else {}

    def _save_cache(self, cache_file: Path | None, pages: dict[str, str]) -> None:
        if cache_file is None:
            return
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
        data = {"version": CACHE_VERSION, "pages": pages}
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cache_file)


def _norwegian_dashes(text: str) -> str:
    """Tesseract reads a spaced dash (tankestrek, "–") as "-"; a spaced hyphen is not
    Norwegian usage, so it is put back. Unspaced hyphens ("e-post") stay."""
    return _SPACED_HYPHEN.sub(" – ", text)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def render_page_png(path: Path, index: int, dpi: int, remove_rules: bool = True) -> bytes:
    """Page ``index`` (0-based) of the PDF rendered in greyscale at ``dpi``, as PNG; with
    ``remove_rules``, long straight lines (table rules, scanner edges) are whitened first."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        image = document[index].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    if remove_rules:
        image = _without_rules(image, dpi)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _without_rules(image, dpi: int):
    """``image`` with horizontal dark runs of an inch or more and vertical ones of half an
    inch or more made white. Tesseract drops the text of ruled table cells (bench: whole
    rows lost), and reads it when the rules are gone; no letter is that long."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(image)
    dark = pixels < 160  # a blurred hairline is grey, not black
    # A rule on a slightly skewed scan steps a pixel sideways now and then, so runs are
    # looked for in bands three pixels wide (at a 0.5° skew a rule stays in one for an inch),
    # and a run found is whitened two pixels to each side, where a blurred rule's grey
    # halo lies (Tesseract reads a halo as "|" or "—").
    across = _runs_along_rows(_band(dark, axis=0), dpi)
    down = _runs_along_rows(np.ascontiguousarray(_band(dark, axis=1).T), dpi // 2).T
    rules = _band(_band(across, axis=0), axis=0) | _band(_band(down, axis=1), axis=1)
    if not rules.any():
        return image
    cleaned = pixels.copy()
    cleaned[rules] = 255
    return Image.fromarray(cleaned)


def _band(mask, axis: int):
    """``mask`` or its neighbour on either side along ``axis``."""
    band = mask.copy()
    if axis == 0:
        band[1:] |= mask[:-1]
        band[:-1] |= mask[1:]
    else:
        band[:, 1:] |= mask[:, :-1]
        band[:, :-1] |= mask[:, 1:]
    return band


def _runs_along_rows(dark, length: int):
    """Mask of the pixels that lie in a ``length``-long, nearly all dark, stretch of a row."""
    import numpy as np

    mask = np.zeros(dark.shape, dtype=bool)
    rows = np.flatnonzero(dark.sum(axis=1) >= length * 0.9)  # only rows that can hold one
    if not rows.size or dark.shape[1] < length:
        return mask
    part = dark[rows].astype(np.int32)
    count, width = part.shape
    sums = np.zeros((count, width + 1), dtype=np.int32)
    np.cumsum(part, axis=1, out=sums[:, 1:])
    # A run starts here: at least 90% dark, as dust and JPEG leave light specks in a rule.
    starts = (sums[:, length:] - sums[:, :-length]) >= length * 0.9
    # Spread each start over the ``length`` pixels it covers: a sliding sum of the starts.
    padded = np.zeros((count, width + length), dtype=np.int32)
    padded[:, length : length + starts.shape[1]] = starts
    covered = np.cumsum(padded, axis=1)
    mask[rows] = (covered[:, length:] - covered[:, :-length]) > 0
    return mask


def image_share(path: Path, index: int) -> float:
    """The share of page ``index`` that its largest image covers (0.0 when it has none)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(str(path))
    except Exception:
        return 0.0
    try:
        page = document[index]
        width, height = page.get_size()
        best = 0.0
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            left, bottom, right, top = obj.get_bounds()
            best = max(best, (right - left) * (top - bottom))
        return best / (width * height) if width and height else 0.0
    except Exception:  # a damaged page: no reason to OCR it
        return 0.0
    finally:
        document.close()
