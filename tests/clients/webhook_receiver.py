"""A webhook receiver for push-subscription tests: Python's http.server in a thread, checking every
request's `X-Wharf-Signature` (HMAC-SHA256 of "<X-Wharf-Timestamp>.<body>" with the shared secret)
the way a real receiver would, and recording what it acknowledged.

Behaviour is steered by the test: `fail_if(pred)` answers 500 for any batch with a record matching
`pred`; `hold_after(n)` lets `n` batches per partition through and then holds later requests
(unanswered) until `release()` — so a test can kill the broker while it waits for an answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLD_S = 60.0


def expected_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_ok(secret: bytes, timestamp: str | None, signature: str | None, body: bytes) -> bool:
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    return hmac.compare_digest(expected_signature(secret, timestamp, body), signature)


class Receiver:
    def __init__(self, secret: bytes):
        self.secret = secret
        self.lock = threading.Lock()
        # Per partition, offsets acknowledged (answered 2xx), in arrival order; duplicates kept.
        self.acked: dict[int, list[int]] = defaultdict(list)
        self.records: dict[tuple[int, int], dict] = {}
        self.failed_requests = 0
        self.bad_signatures = 0
        self.subscriptions: set[str] = set()
        self._fail = None
        self._hold_after: int | None = None
        self._batches: dict[int, int] = defaultdict(int)
        self.held: list[tuple[int, list[int]]] = []
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._handle(self.headers, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the broker went away while we held the request

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def fail_if(self, predicate) -> None:
        self._fail = predicate

    def hold_after(self, batches_per_partition: int) -> None:
        with self.lock:
            self._hold_after = batches_per_partition
            self._batches.clear()

    def release(self) -> None:
        with self.lock:
            self._hold_after = None
        self._release.set()

    def _handle(self, headers, body: bytes) -> int:
        if not signature_ok(self.secret, headers.get("X-Wharf-Timestamp"), headers.get("X-Wharf-Signature"), body):
            with self.lock:
                self.bad_signatures += 1
            return 401
        batch = json.loads(body)
        partition = batch["partition"]
        offsets = [r["offset"] for r in batch["records"]]
        with self.lock:
            self.subscriptions.add(batch["subscription"])
            if self._fail is not None and any(self._fail(r) for r in batch["records"]):
                self.failed_requests += 1
                return 500
            hold = self._hold_after is not None and self._batches[partition] >= self._hold_after
            self._batches[partition] += 1
            if hold:
                self.held.append((partition, offsets))
        if hold:
            # Never acknowledged: the broker is killed while this request waits.
            self._release.wait(HOLD_S)
            return 503
        with self.lock:
            self.acked[partition].extend(offsets)
            for r in batch["records"]:
                self.records[(partition, r["offset"])] = r
        return 200

    def acked_set(self) -> set[tuple[int, int]]:
        with self.lock:
            return {(p, o) for p, offsets in self.acked.items() for o in offsets}

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
