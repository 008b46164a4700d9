"""A scripted OpenAI-compatible chat server on 127.0.0.1, for testing kilde's checks of what
an LLM says (not a model): each request is answered by a Python function of the request.

A script returns a ``Reply``: the assistant text (sent as a completion, or streamed as
server-sent events when the request asks for it), an HTTP status, or a delay.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (cut short when the server stops)
    body: bytes | None = None  # raw body instead of a completion


@dataclass
class Request:
    body: dict
    headers: dict[str, str]

    def passages(self) -> dict[int, str]:
        """The numbered passages of the user message: ``[1] ...`` lines."""
        user = next(m["content"] for m in self.body["messages"] if m["role"] == "user")
        return {int(n): text for n, text in re.findall(r"^\[(\d+)\] (.*)$", user, re.M)}

    def passage_with(self, words: str) -> int:
        """The number of the first passage holding ``words``."""
        return next(n for n, text in sorted(self.passages().items()) if words in text)


Script = Callable[[Request], Reply]


@dataclass
class ScriptedServer:
    script: Script
    requests: list[Request] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> ScriptedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(json.loads(self.rfile.read(length)), dict(self.headers))
                server.requests.append(request)
                reply = server.script(request)
                if reply.delay and server._stop.wait(reply.delay):
                    return
                if reply.body is not None or reply.status != 200:
                    body = reply.body if reply.body is not None else b'{"error": "scripted"}'
                    self._send(reply.status, "application/json", body)
                elif request.body.get("stream"):
                    self._stream(reply.content)
                else:
                    completion = {"choices": [{"message": {"content": reply.content}}]}
                    self._send(200, "application/json", json.dumps(completion).encode())

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, content: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for at in range(0, len(content), 7):  # pieces, as a model writes them
                    delta = {"choices": [{"delta": {"content": content[at : at + 7]}}]}
                    self.wfile.write(f"data: {json.dumps(delta)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def json_reply(refused: bool = False, sentences: list | None = None) -> Reply:
    return Reply(json.dumps({"refused": refused, "sentences": sentences or []}))
