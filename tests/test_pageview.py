"""«Vis siden»: the cited PDF page rendered, with the quote's own place on it highlighted."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pdfs import FONT, make_pdf  # tests/pdfs.py
from PIL import Image

from kilde.app.pageview import HIGHLIGHT, render_page
from kilde.errors import KildeError

pytestmark = pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is not installed")

FILLER = "Mer tekst om kommunen og tjenestene den gir til innbyggerne. " * 12
PAGE_TWO = (
    "Sammendrag\n" + FILLER + "Hovedfunnet er at ventetiden på øyeblikkelig hjelp i Åfjord "
    "gikk ned med tolv prosent fra 2022 til 2024. " + FILLER
)
QUOTE = "ventetiden på øyeblikkelig hjelp i Åfjord gikk ned med tolv prosent fra 2022 til 2024."


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    return make_pdf(tmp_path_factory.mktemp("pageview") / "rapport.pdf", ["Forside", PAGE_TWO])


def yellow(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 200 and g > 170 and b < 170


def test_the_quote_is_highlighted_where_it_stands(pdf):
    image = render_page(pdf, 2, "  ventetiden på\nøyeblikkelig   hjelp i Åfjord gikk ned med tolv "
                        "prosent fra 2022 til 2024.")  # fmt: skip
    assert image.found
    png = Image.open(io.BytesIO(image.png))
    assert png.size == (image.width, image.height)
    assert len(image.boxes) >= 1
    for left, top, right, bottom in image.boxes:
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
        # Below the filler paragraph, not at the top of the page: the quote's own place.
        assert top > image.height * 0.05
        assert yellow(png.getpixel(((left + right) // 2, bottom + 1)))
    # The rest of the page is not highlighted.
    assert not yellow(png.getpixel((image.width // 2, image.height - 20)))


def test_hyphens_do_not_hide_the_quote(pdf):
    """A word hyphenated at a line end on the page or in the quote still matches."""
    image = render_page(pdf, 2, QUOTE.replace("øyeblikkelig", "øyeblikke-lig"))
    assert image.found


def test_a_quote_not_on_the_page_gives_the_page_without_highlight(pdf):
    image = render_page(pdf, 1, QUOTE)
    assert not image.found and image.png.startswith(b"\x89PNG")
    pixels = np.asarray(Image.open(io.BytesIO(image.png)).convert("RGB")).astype(int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    assert not ((r > 200) & (g > 170) & (b < 170)).any()
    assert HIGHLIGHT[3] < 255  # translucent: the words under the highlight stay readable


def test_a_page_that_does_not_exist_is_one_norwegian_line(pdf):
    with pytest.raises(KildeError, match="har ingen side 9"):
        render_page(pdf, 9, QUOTE)
