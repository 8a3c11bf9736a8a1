"""The e-mail worker (pulls with a Kafka client) and the SMS worker (Wharf pushes to it).

Both handle every `user-registered` record, each through its own consumer group (`email`, `sms`).

The e-mail worker is a confluent-kafka consumer: it polls, "sends" the mails of a batch, then
commits — so after a crash before the commit that batch is read again, which is why real senders
remember which user ids they have handled.

The SMS worker runs no Kafka client at all. It is a small web server; on start it registers a
*push subscription* with Wharf (`POST /v1/subscriptions`), and Wharf POSTs batches of records to
it, in order per partition, committing group `sms` only after the worker answered 2xx. If the
worker answers an error or is down, Wharf retries with backoff; a record that keeps failing goes
to the dead-letter topic `signups.dlq`. Delivery is at-least-once: after a broker restart the
last batch may come twice. Every request is signed with the subscription's secret
(`X-Wharf-Signature`), and the worker refuses any request whose signature does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from confluent_kafka import Consumer, KafkaException

from signup import SIGNUPS_TOPIC, UserRegistered, wharf_call

EMAIL_GROUP = "email"
SMS_GROUP = "sms"
SMS_SUBSCRIPTION = "sms"


def make_worker_consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        # A new group begins with the oldest stored record, so no registration is skipped.
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
    })


def run_email_worker(
    bootstrap: str,
    stop_event: threading.Event,
    sink: list[tuple[str, str]],
    *,
    group: str = EMAIL_GROUP,
    topic: str = SIGNUPS_TOPIC,
    ready: threading.Event | None = None,
) -> None:
    """"Send" a welcome mail per registration (append (user id, mail) to `sink`) until `stop_event`."""
    consumer = make_worker_consumer(bootstrap, group)
    consumer.subscribe([topic], on_assign=lambda c, partitions: ready.set() if ready is not None else None)
    try:
        while not stop_event.is_set():
            messages = consumer.consume(num_messages=100, timeout=0.2)
            for msg in messages:
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                user = UserRegistered.from_dict(json.loads(msg.value()))
                sink.append((user.user_id, f"welcome mail to {user.email}"))
            if messages:
                consumer.commit(asynchronous=False)  # handled, so move this group's bookmark on
    finally:
        consumer.close()


def signature_ok(secret: bytes, timestamp: str | None, signature: str | None, body: bytes) -> bool:
    """Wharf signs HMAC-SHA256(secret, "<timestamp>.<body>"); compare in constant time."""
    if not timestamp or not signature:
        return False
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def serve_webhook(secret: bytes, handle: Callable[[dict], None]) -> ThreadingHTTPServer:
    """A web server on 127.0.0.1 (free port) passing each signed batch's records to `handle`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not signature_ok(secret, self.headers.get("X-Wharf-Timestamp"), self.headers.get("X-Wharf-Signature"), body):
                self.send_response(401)  # not from our Wharf subscription: refuse
            else:
                for record in json.loads(body)["records"]:
                    handle(record)
                self.send_response(204)  # 2xx: Wharf commits past this batch
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_sms_worker(
    http_url: str,
    stop_event: threading.Event,
    sink: list[tuple[str, str]],
    *,
    name: str = SMS_SUBSCRIPTION,
    group: str = SMS_GROUP,
    topic: str = SIGNUPS_TOPIC,
    secret: str = "sms-worker-secret",
    ready: threading.Event | None = None,
) -> None:
    """"Send" a verification SMS per registration pushed to us (append (user id, text) to `sink`)."""

    def handle(record: dict) -> None:
        user = UserRegistered.from_dict(record["value"])
        sink.append((user.user_id, f"sms code to {user.phone}"))

    server = serve_webhook(secret.encode(), handle)
    url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    try:
        status, body = wharf_call(http_url, "POST", "/v1/subscriptions", {
            "name": name, "topic": topic, "group": group, "url": url, "secret": secret,
            "batch_size": 50, "linger_ms": 20, "max_attempts": 5,
        })
        if status != 201:
            raise RuntimeError(f"cannot subscribe: {status} {body}")
        if ready is not None:
            ready.set()
        stop_event.wait()
    finally:
        # Unsubscribe: Wharf stops pushing; group `sms` keeps its offsets for a later subscription.
        wharf_call(http_url, "DELETE", f"/v1/subscriptions/{name}")
        server.shutdown()
        server.server_close()
