"""Push delivery rate to a local webhook beside a Kafka consumer's read rate, same broker, same run
(issue #7).

Each round first fills a fresh topic of PARTITIONS partitions with COUNT records of 100 B with
`wharf bench produce` (Kafka protocol, acks=all: the produce reference), then, alternating:
  kafka: a confluent-kafka consumer in a fresh group reads all COUNT records from the start and
         commits at the end: records/s from subscribe to the last record.
  push:  a push subscription for a fresh group POSTs batches of BATCH records to a receiver in
         this process (ThreadingHTTPServer that parses each JSON batch and answers 200):
         records/s from creating the subscription to the last record received (every record
         must arrive; duplicates are counted).
Medians and the ratios of push to both references are printed.

usage: push_delivery.py [COUNT] [ROUNDS]      (WHARF: the broker binary, default target/ci/wharf)
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka import Consumer

KAFKA = "127.0.0.1:39096"
HTTP = "127.0.0.1:39097"
PARTITIONS = 4
BATCH = 500
TOPIC = "push-bench"


class Receiver(BaseHTTPRequestHandler):
    received: dict[str, set[tuple[int, int]]] = {}
    deliveries = 0
    lock = threading.Lock()
    done = threading.Event()
    want = 0
    current = ""

    def do_POST(self) -> None:  # noqa: N802 (http.server's spelling)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        batch = json.loads(body)
        with Receiver.lock:
            seen = Receiver.received.setdefault(Receiver.current, set())
            for r in batch["records"]:
                seen.add((r["partition"], r["offset"]))
                Receiver.deliveries += 1
            if len(seen) >= Receiver.want:
                Receiver.done.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def post(path: str, body: dict) -> dict:
    request = urllib.request.Request(f"http://{HTTP}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def fill(wharf: str, topic: str, count: int) -> float:
    """Produce COUNT records with `wharf bench produce`; its records/s."""
    out = subprocess.run([wharf, "bench", "produce", "--bootstrap", KAFKA, "--topic", topic, "--partitions",
                          str(PARTITIONS), "--count", str(count), "--message-size", "100", "--acks", "all", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["msgs_per_sec"]


def kafka_round(count: int, group: str, topic: str) -> float:
    consumer = Consumer({"bootstrap.servers": KAFKA, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    started = time.monotonic()
    consumer.subscribe([topic])
    got = 0
    while got < count:
        for msg in consumer.consume(num_messages=10_000, timeout=1.0):
            if not msg.error():
                got += 1
    elapsed = time.monotonic() - started
    consumer.commit(asynchronous=False)
    consumer.close()
    return count / elapsed


def push_round(count: int, name: str, receiver_url: str, topic: str) -> float:
    Receiver.current, Receiver.want = name, count
    Receiver.done.clear()
    started = time.monotonic()
    post("/v1/subscriptions", {"name": name, "topic": topic, "group": name, "url": receiver_url,
                               "secret": "bench", "batch_size": BATCH, "linger_ms": 5, "max_attempts": 5,
                               "auto_offset_reset": "earliest"})
    assert Receiver.done.wait(600), f"push delivered {len(Receiver.received.get(name, ()))} of {count}"
    elapsed = time.monotonic() - started
    urllib.request.urlopen(urllib.request.Request(f"http://{HTTP}/v1/subscriptions/{name}", method="DELETE"),
                           timeout=30).close()
    return count / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    wharf = os.environ.get("WHARF", "target/ci/wharf")
    data = tempfile.mkdtemp(prefix="push-bench-")
    broker = subprocess.Popen([wharf, "serve", "--listen", KAFKA, "--http-listen", HTTP, "--data-dir", data],
                              stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        time.sleep(1)
        print(f"{os.cpu_count()} cores, load {open('/proc/loadavg').read().split()[:3]}, broker {wharf}, "
              f"{count} records of 100 B over {PARTITIONS} partitions, push batch {BATCH}")
        produce, kafka, push = [], [], []
        for r in range(rounds):
            topic = f"{TOPIC}-{r}"
            produce.append(fill(wharf, topic, count))
            kafka.append(kafka_round(count, f"kafka-{r}", topic))
            push.append(push_round(count, f"push-{r}", receiver_url, topic))
            print(f"round {r + 1}: kafka produce {produce[-1]:,.0f} rec/s, kafka consumer {kafka[-1]:,.0f} rec/s, "
                  f"push {push[-1]:,.0f} rec/s")
        w, k, p = statistics.median(produce), statistics.median(kafka), statistics.median(push)
        print(f"median: kafka produce {w:,.0f} rec/s; kafka consumer {k:,.0f} rec/s; push {p:,.0f} rec/s "
              f"({p / w:.2f}x produce, {p / k:.2f}x consumer); deliveries {Receiver.deliveries} for {count * rounds} records")
    finally:
        broker.terminate()
        broker.wait(30)
        server.shutdown()


if __name__ == "__main__":
    main()
