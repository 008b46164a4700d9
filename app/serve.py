"""``kilde serve``: an HTTP JSON API over one store, for many users (OpenAPI docs at /docs).

Every worker process opens the store itself; over a PostgreSQL store any number of workers
and hosts can serve at once. A worker notices a change made by another (an upload, an
ingest) by the store's generation and rebuilds its answering pipeline. Every 4xx/5xx answer
is ``{"error": {"status": N, "message": "<Norwegian>"}}``. With ``KILDE_API_KEY`` set, every
call but the docs needs the header ``X-API-Key`` (or ``Authorization: Bearer KEY``).
"""

from __future__ import annotations

import hmac
import os
import threading
from pathlib import Path

from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from kilde.config import Settings, load_settings
from kilde.errors import IndexMismatchError, IndexMissingError, KildeError
from kilde.ingest.uploads import MAX_UPLOAD_BYTES, UploadRejected, add_documents, check_uploads
from kilde.types import Filters

ENV_API_KEY = "KILDE_API_KEY"
MAX_JSON_BYTES = 64 * 1024
MAX_UPLOAD_FILES = 20
OPEN_PATHS = ("/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc")
MESSAGES = {
    400: "ugyldig forespørsel",
    401: "mangler eller feil API-nøkkel (send den i X-API-Key)",
    404: "finnes ikke",
    405: "metoden er ikke tillatt her",
    411: "send Content-Length med forespørselen",
    413: "forespørselen er for stor",
    422: "ugyldige felter i forespørselen",
    500: "intern feil i tjeneren; se loggen",
    503: "indeksen er ikke klar",
}


class FilterIn(BaseModel):
    files: list[str] = Field(default_factory=list, max_length=200)
    publishers: list[str] = Field(default_factory=list, max_length=50)
    year_from: int | None = None
    year_to: int | None = None


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    history: list[str] = Field(default_factory=list, max_length=20)
    filters: FilterIn | None = None


def error_body(status: int, message: str | None = None) -> JSONResponse:
    text = message or MESSAGES.get(status, "feil")
    return JSONResponse({"error": {"status": status, "message": text}}, status_code=status)


class EngineHolder:
    """The worker's engine, rebuilt when the store's generation moves (another worker or an
    ingest changed it). Asks run one at a time per worker: the embedders are not known to
    be thread-safe, and the CPU is the limit anyway; run more workers for more throughput."""

    def __init__(self, settings: Settings, engine=None):
        self.settings = settings
        self._engine = engine
        self._generation: str | None = None
        self._lock = threading.Lock()
        self.ask_lock = threading.Lock()

    def get(self):
        from kilde.answer.engine import Engine

        with self._lock:
            if self._engine is None:
                self._engine = Engine.open(self.settings)
                self._generation = self._engine.store.status().generation
                return self._engine
            generation = _generation(self._engine.store)
            if generation != self._generation:
                if hasattr(self._engine.store, "pool"):  # the same database, new contents
                    self._engine = Engine(self.settings, self._engine.store, self._engine.embedder)
                else:  # a folder store: load the new generation
                    self._engine = Engine.open(self.settings, embedder=self._engine.embedder)
                self._generation = generation
            return self._engine


def _generation(store) -> str | None:
    if hasattr(store, "generation"):
        return str(store.generation())
    from kilde.index.store import read_status

    status = read_status(Path(store.status().location))
    return status.generation if status else None


def create_app(settings: Settings, api_key: str | None = None, engine=None) -> FastAPI:
    app = FastAPI(
        title="kilde",
        description="Svar med sidehenvisninger fra norske offentlige dokumenter.",
        version="1",
    )
    holder = EngineHolder(settings, engine)
    app.state.holder = holder

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if api_key and request.url.path not in OPEN_PATHS:
            given = request.headers.get("x-api-key") or ""
            auth = request.headers.get("authorization") or ""
            if auth.lower().startswith("bearer "):
                given = given or auth[7:]
            if not hmac.compare_digest(given.encode(), api_key.encode()):
                return error_body(401)
        limit = _body_limit(request.url.path)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return error_body(413, f"forespørselen er større enn {limit // 1024} KB")
        if request.method in ("POST", "PUT") and length is None:
            return error_body(411)
        return await call_next(request)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else None
        if message in ("Not Found", "Method Not Allowed"):
            message = None
        return error_body(exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) or "body" for e in exc.errors())
        return error_body(422, f"ugyldige felter i forespørselen: {fields}")

    @app.exception_handler(IndexMissingError)
    async def missing(request: Request, exc: IndexMissingError):
        return error_body(503, f"indeksen er ikke klar: {exc}")

    @app.exception_handler(KildeError)
    async def kilde_error(request: Request, exc: KildeError):
        status = 503 if isinstance(exc, IndexMismatchError) else 400
        return error_body(status, str(exc))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):
        return error_body(500)

    @app.get("/health", summary="Indeksens tilstand")
    def health() -> dict:
        status = holder.get().store.status()
        return {
            "status": "ok",
            "location": status.location,
            "generation": status.generation,
            "embedder": status.embedder_id,
            "documents": status.documents,
            "pages": status.pages,
            "chunks": status.chunks,
        }

    @app.post("/ask", summary="Svar på et spørsmål (samme JSON som `kilde ask --json`)")
    def ask(body: AskIn) -> dict:
        from kilde.answer.serialize import answer_to_dict

        engine = holder.get()
        f = body.filters or FilterIn()
        filters = Filters(tuple(f.files), tuple(f.publishers), f.year_from, f.year_to)
        with holder.ask_lock:
            answer = engine.ask(body.question, tuple(body.history), filters)
        return answer_to_dict(answer)

    @app.get("/search", summary="Rangerte tekstbiter for et søk")
    def search(q: str = Query(min_length=1, max_length=2000), k: int = Query(10, ge=1, le=100)):
        engine = holder.get()
        with holder.ask_lock:
            hits = engine.pipeline.search(q, k)
        return [
            {
                "chunk_id": h.chunk.chunk_id,
                "file": h.chunk.file,
                "title": h.chunk.title,
                "page": h.chunk.page,
                "page_label": h.chunk.page_label,
                "score": round(h.score, 6),
                "text": h.chunk.text,
            }
            for h in hits
        ]

    @app.get("/documents", summary="Dokumentene i indeksen")
    def documents() -> list[dict]:
        docs = holder.get().store.documents()
        return [
            {
                "file": d.file,
                "title": d.title,
                "publisher": d.publisher,
                "date": d.date,
                "pages": d.pages,
            }  # fmt: skip
            for d in docs.values()
        ]

    @app.post("/documents", summary="Last opp dokumenter og legg dem til indeksen")
    def upload(files: list[UploadFile] = File(...)) -> dict:  # noqa: B008 (FastAPI idiom)
        return _upload(holder, settings, files)

    return app


def _body_limit(path: str) -> int:
    return MAX_UPLOAD_FILES * MAX_UPLOAD_BYTES if path == "/documents" else MAX_JSON_BYTES


def _upload(holder: EngineHolder, settings: Settings, files: list[UploadFile]) -> dict:
    from kilde.index.build import ingest
    from kilde.index.embedders import load_embedder
    from kilde.ingest.chunk import ChunkingParams
    from kilde.ingest.ocr import OcrOptions

    from .launch import corpus_mismatch, ingest_params

    if not files or len(files) > MAX_UPLOAD_FILES:
        raise UploadRejected(f"send mellom 1 og {MAX_UPLOAD_FILES} filer")
    engine = holder.get()
    status = engine.store.status()
    # The ingest after an upload syncs the store with the folder: from another folder than
    # the store was built from, it would remove every document that folder lacks.
    mismatch = corpus_mismatch(Path(settings.index.corpus_dir), status)
    if mismatch:
        raise UploadRejected(
            mismatch.replace("start med --corpus", "start kilde serve med --corpus")
        )
    contents = [(f.filename or "", f.file.read(MAX_UPLOAD_BYTES + 1)) for f in files]
    checks = check_uploads([(n, len(c)) for n, c in contents], Path(settings.index.corpus_dir))
    bad = [c.problem for c in checks if not c.ok]
    if bad:
        raise UploadRejected(" ".join(bad))
    spec = status.embedder_spec or settings.index.embedder
    size, overlap = ingest_params(settings, status)
    embedder = engine.embedder if engine.embedder.id == status.embedder_id else load_embedder(spec)
    corpus = Path(settings.index.corpus_dir)
    result = add_documents(
        corpus,
        [(check.name, data) for check, (_, data) in zip(checks, contents, strict=True)],
        lambda: ingest(
            corpus,
            settings.index.location,
            embedder,
            ChunkingParams(size, overlap),
            progress=False,
            embedder_spec=spec,
            ocr=OcrOptions.from_settings(settings.index),  # as `kilde ingest`: same claim keys
        ),  # fmt: skip
    )
    holder.get()  # pick up the new generation now
    return {
        "added": result.added,
        "failed": result.failed,
        "warnings": result.warnings,
        "documents": result.documents,
        "chunks": result.chunks,
    }


def app_from_env() -> FastAPI:
    """The app a uvicorn worker process builds (``--workers`` > 1): settings come from the
    environment that ``run_server`` set."""
    settings = load_settings(
        Path(os.environ["KILDE_CONFIG"]) if os.environ.get("KILDE_CONFIG") else None,
        index_dir=os.environ.get("KILDE_INDEX") or None,
        store=os.environ.get("KILDE_STORE") or None,
        corpus_dir=os.environ.get("KILDE_CORPUS") or None,
    )
    return create_app(settings, api_key=os.environ.get(ENV_API_KEY) or None)


def run_server(
    settings: Settings, config: Path | None, host: str, port: int, workers: int = 1
) -> int:
    import uvicorn

    api_key = os.environ.get(ENV_API_KEY) or None
    if workers <= 1:
        app = create_app(settings, api_key=api_key)
        app.state.holder.get()  # open the store now: a missing index fails before listening
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return 0
    os.environ.update(
        KILDE_INDEX=settings.index.index_dir,
        KILDE_STORE=settings.index.store,
        KILDE_CORPUS=settings.index.corpus_dir,
        KILDE_CONFIG=str(config) if config else "",
    )
    uvicorn.run(
        "kilde.app.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
        log_level="warning",
    )  # fmt: skip
    return 0
