"""A minimal client for OpenAI-compatible chat servers (vLLM, Ollama, llama.cpp, Azure OpenAI),
on the standard library alone.

One request per call, with one retry without ``response_format`` when the server rejects it
(HTTP 400): request loops stay bounded. Every failure is an ``LlmError`` whose message is a short
Norwegian reason; the answerer catches it and answers with the default answerer instead. The
API key goes only into request headers: never into a message, a log line or a report.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from kilde.errors import ConfigError

TextListener = Callable[[str], None]


class LlmError(Exception):
    """The server gave no usable reply. ``str(err)`` is a short Norwegian reason, free of
    secrets (it is shown to the user)."""


def api_key_from_env(name: str) -> str | None:
    """The API key from the environment variable ``name`` (a setting names the variable and
    never holds the key)."""
    return os.environ.get(name) or None if name else None


class ChatClient:
    """POSTs to ``{url}/chat/completions``; ``url`` is the base URL ending in /v1."""

    def __init__(self, url: str, model: str, timeout: float, api_key: str | None = None):
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--llm-url {url or '(tom)'} er ikke en http(s)-adresse; gi f.eks. "
                "--llm-url http://127.0.0.1:8000/v1"
            )
        self.endpoint = f"{url}/chat/completions"
        self.model = model
        self.timeout = timeout
        self._api_key = api_key
        self.json_mode = True  # turned off for good once the server rejects response_format

    def __repr__(self) -> str:  # never the key
        return f"ChatClient({self.endpoint!r}, model={self.model!r})"

    def chat(
        self, messages: list[dict], max_tokens: int, on_text: TextListener | None = None
    ) -> str:
        """The assistant's reply text. With ``on_text``, the reply is streamed and each piece
        is passed to it as it arrives."""
        deadline = time.monotonic() + self.timeout
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens,
            "stream": on_text is not None,
        }
        if self.json_mode:
            try:
                return self._post(
                    {**body, "response_format": {"type": "json_object"}}, deadline, on_text
                )
            except _Rejected:
                self.json_mode = False  # the server does not know JSON mode; ask plainly
        try:
            return self._post(body, deadline, on_text)
        except _Rejected as exc:
            raise LlmError(str(exc)) from None

    def _post(self, body: dict, deadline: float, on_text: TextListener | None) -> str:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
            headers["api-key"] = self._api_key  # Azure OpenAI's header
        request = urllib.request.Request(
            self.endpoint, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
        )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LlmError(f"svarte ikke innen {self.timeout:g} s")
        try:
            with urllib.request.urlopen(request, timeout=remaining) as response:
                if body["stream"]:
                    return _read_stream(response, deadline, on_text, self.timeout)
                raw = _read_all(response, deadline, self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                raise _Rejected(f"avviste forespørselen (HTTP {exc.code})") from None
            raise LlmError(f"svarte med feil (HTTP {exc.code})") from None
        except TimeoutError:
            raise LlmError(f"svarte ikke innen {self.timeout:g} s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise LlmError(f"svarte ikke innen {self.timeout:g} s") from None
            raise LlmError("kunne ikke nås (tilkoblingen feilet)") from None
        except (OSError, http.client.HTTPException):
            raise LlmError("kunne ikke nås (tilkoblingen ble brutt)") from None
        try:
            return str(json.loads(raw)["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError):
            raise LlmError("svarte ikke i OpenAI-formatet (choices[0].message)") from None


class _Rejected(Exception):
    """HTTP 400: the request (perhaps ``response_format``) was not accepted."""


def _read_all(response, deadline: float, timeout: float) -> bytes:
    """The whole body, read in pieces so that a server trickling bytes is still cut off at
    the deadline."""
    parts = []
    while piece := response.read(65536):
        parts.append(piece)
        if time.monotonic() > deadline:
            raise LlmError(f"svarte ikke innen {timeout:g} s")
    return b"".join(parts)


def _read_stream(response, deadline: float, on_text: TextListener | None, timeout: float) -> str:
    """Server-sent events (``data: {...}`` lines, ending with ``data: [DONE]``): the reply's
    text, each delta passed to ``on_text`` as it comes."""
    text: list[str] = []
    for line in response:
        if time.monotonic() > deadline:
            raise LlmError(f"svarte ikke innen {timeout:g} s")
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        try:
            delta = json.loads(data)["choices"][0].get("delta", {}).get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise LlmError("strømmet ikke i OpenAI-formatet (choices[0].delta)") from None
        if delta:
            text.append(delta)
            if on_text is not None:
                on_text(delta)
    return "".join(text)


def first_json_object(text: str) -> dict | None:
    """The reply as a JSON object, or the first JSON object standing in it (a model may wrap
    it in prose or a ```json fence); None when there is none."""
    text = text.strip()
    try:
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    at = text.find("{")
    while at >= 0:
        try:
            value, _ = decoder.raw_decode(text, at)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
        at = text.find("{", at + 1)
    return None
