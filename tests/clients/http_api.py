"""A tiny HTTP client for Wharf's REST API in tests (stdlib only): JSON in, (status, JSON) out.

Owns: building requests against `broker.http_url`, decoding JSON answers (errors included, since
the API answers every failure with a JSON body), and reading Server-Sent Events line by line.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

TIMEOUT_S = 30.0


def call(base: str, method: str, path: str, body=None, *, raw: bytes | None = None,
         content_type: str = "application/json", timeout: float = TIMEOUT_S) -> tuple[int, object]:
    """Send one request; return (status, parsed JSON or None for an empty body)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, payload = err.code, err.read()
    return status, (json.loads(payload) if payload else None)


def ok(base: str, method: str, path: str, body=None, *, expect: int = 200, **kw) -> object:
    """`call`, asserting the status; returns the JSON body."""
    status, answer = call(base, method, path, body, **kw)
    assert status == expect, f"{method} {path} answered {status}: {answer}"
    return answer


class EventStream:
    """An open `text/event-stream` response, read event by event."""

    def __init__(self, base: str, path: str, timeout: float = TIMEOUT_S):
        self.response = urllib.request.urlopen(base + path, timeout=timeout)
        assert self.response.headers["Content-Type"].startswith("text/event-stream")

    def next_event(self) -> dict[str, str]:
        """The next event's fields (event, id, data); comment lines (keep-alives) are skipped."""
        fields: dict[str, str] = {}
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("event stream closed")
            line = line.decode().rstrip("\r\n")
            if not line:
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def close(self) -> None:
        self.response.close()
