"""The registration service: `POST /signup` with `{"email": ..., "phone": ...}` records the new
user and answers `201 {"user_id": ...}` straight away.

Sending the welcome e-mail and the SMS code is not its job. It writes one `user-registered`
record to the `signups` topic through Wharf's HTTP API and lets whoever cares read it later, so
sign-up stays fast even when the mail or SMS provider is slow or down. The service needs no Kafka
client at all: a plain HTTP POST to `/v1/topics/signups/records`, answered once the record is on
the broker's disk (the gateway produces with acks=all).

Kafka ideas shown here:
- The user id is the record's key, so every record about one user goes to the same partition
  (the gateway hashes keys as librdkafka does), in order.
- Only the write to the broker is on the sign-up path; the workers read at their own pace.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNUPS_TOPIC = "signups"
SIGNUPS_PARTITIONS = 2
# Bodies larger than this are refused: a sign-up is a few hundred bytes.
BODY_BYTES_MAX = 16 * 1024


@dataclass(frozen=True)
class UserRegistered:
    user_id: str
    email: str
    phone: str

    @staticmethod
    def from_dict(d: dict) -> "UserRegistered":
        return UserRegistered(d["user_id"], d["email"], d["phone"])


def wharf_call(http_url: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
    """One request to Wharf's HTTP API; returns (status, JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(http_url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
            return resp.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, json.loads(text) if text else None


def create_signups_topic(http_url: str, topic: str = SIGNUPS_TOPIC, partitions: int = SIGNUPS_PARTITIONS) -> None:
    """Create the topic up front (it may exist from an earlier run; that is fine)."""
    status, body = wharf_call(http_url, "POST", "/v1/topics", {"name": topic, "partitions": partitions})
    if status not in (200, 201) and not (body and body.get("error") == "TOPIC_ALREADY_EXISTS"):
        raise RuntimeError(f"cannot create topic {topic}: {status} {body}")


def post_signup(service_url: str, email: str, phone: str) -> str:
    """What a browser or app does: POST the form to the service, get the new user id back."""
    req = urllib.request.Request(f"{service_url}/signup", data=json.dumps({"email": email, "phone": phone}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status != 201:
            raise RuntimeError(f"sign-up failed: {resp.status}")
        return json.loads(resp.read())["user_id"]


class SignupService:
    """The registration service on 127.0.0.1 (port 0 picks a free one); `url` is where it listens."""

    def __init__(self, http_url: str, topic: str = SIGNUPS_TOPIC, port: int = 0):
        service = self
        self.http_url = http_url
        self.topic = topic

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                if self.path != "/signup":
                    return self.answer(404, {"error": "no such endpoint"})
                length = int(self.headers.get("Content-Length") or 0)
                if length > BODY_BYTES_MAX:
                    return self.answer(413, {"error": "body too large"})
                try:
                    form = json.loads(self.rfile.read(length))
                    email, phone = str(form["email"]), str(form["phone"])
                except (ValueError, KeyError, TypeError):
                    return self.answer(400, {"error": "send JSON with email and phone"})
                status, body = service.sign_up(email, phone)
                self.answer(status, body)

            def answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def sign_up(self, email: str, phone: str) -> tuple[int, dict]:
        """Write the `user-registered` record and return the new user id (201), or the broker's error."""
        user = UserRegistered(f"user-{uuid.uuid4().hex[:12]}", email, phone)
        status, body = wharf_call(self.http_url, "POST", f"/v1/topics/{self.topic}/records",
                                  {"records": [{"key": user.user_id, "value": asdict(user)}]})
        if status != 200:
            # The broker refused (backlog full, disk failed): tell the caller to try again later.
            return 503, {"error": "could not record the sign-up", "broker": body}
        return 201, {"user_id": user.user_id}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
