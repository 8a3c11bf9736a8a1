"""Push subscriptions against the real binary, with a real webhook receiver (webhook_receiver.py).

Proves: every record produced by confluent-kafka arrives at least once and in order per partition;
a record the receiver answers 500 for (and every batch holding it) is retried max_attempts times in
its batch and again alone, then lands in the dead-letter topic with its key, value, headers and
`wharf.dlq.*` reasons, while every other record is delivered; after kill -9 while the receiver holds
a request unanswered, the subscription still exists and delivery resumes exactly at the first
unacknowledged offset of each partition (acknowledged records are not sent again); every request
carries a valid HMAC signature, and one made with another secret is refused by the receiver; pause
holds delivery without losing the position, resume continues, delete stops delivery and keeps the
group's offsets; bad registrations are refused with 4xx.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from http_api import call
from librdkafka_client import create_topic
from webhook_receiver import Receiver, expected_signature, signature_ok

WAIT_S = 30.0
SECRET = b"push-test-secret"
# Long enough that a delivery that should not happen would show up (no timing is asserted).
QUIET_S = 1.0


def subscribe(broker, **fields) -> dict:
    status, body = call(broker.http_url, "POST", "/v1/subscriptions", fields)
    assert status == 201, body
    return body


def subscription(broker, name: str) -> dict:
    status, body = call(broker.http_url, "GET", f"/v1/subscriptions/{name}")
    assert status == 200, body
    return body


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def produce(bootstrap: str, topic: str, values: list[tuple[int, dict]]) -> dict[int, tuple[int, int]]:
    """Produce (partition, value) pairs with acks=all; returns n -> (partition, offset)."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    where: dict[int, tuple[int, int]] = {}

    def report(err, msg):
        assert err is None, err
        where[json.loads(msg.value())["n"]] = (msg.partition(), msg.offset())

    for partition, value in values:
        producer.produce(topic, key=f"k{value['n']}".encode(), value=json.dumps(value).encode(),
                         partition=partition, headers=[("origin", b"test")], on_delivery=report)
    assert producer.flush(30) == 0
    return where


def read_all(bootstrap: str, topic: str, expected: int) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{topic}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + WAIT_S
    try:
        while len(got) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None:
                assert msg.error() is None, msg.error()
                got.append(msg)
        # One more poll so an unexpected extra record would show.
        extra = consumer.poll(0.5)
        if extra is not None and extra.error() is None:
            got.append(extra)
    finally:
        consumer.close()
    return got


def strictly_increasing(xs: list[int]) -> bool:
    return all(a < b for a, b in zip(xs, xs[1:]))


@pytest.fixture
def receiver():
    r = Receiver(SECRET)
    yield r
    r.close()


def test_push_delivers_in_order_dead_letters_poison_and_resumes_after_kill9(broker, receiver):
    create_topic(broker.bootstrap, "orders", partitions=3)
    poison = 150  # partition 0, offset 50: in the middle of a full batch
    where = produce(broker.bootstrap, "orders", [(n % 3, {"n": n}) for n in range(300)])
    assert where[poison] == (0, 50)
    receiver.fail_if(lambda r: r["value"]["n"] == poison)

    created = subscribe(broker, name="orders-hook", topic="orders", group="orders-push", url=receiver.url,
                        secret=SECRET.decode(), batch_size=20, linger_ms=20, max_attempts=5,
                        initial_backoff_ms=5, max_backoff_ms=20)
    assert created["dead_letter_topic"] == "orders.dlq" and "secret" not in created

    expected = {where[n] for n in range(300) if n != poison}
    wait_until(lambda: receiver.acked_set() >= expected, "every healthy record")
    wait_until(lambda: subscription(broker, "orders-hook")["dead_lettered"] == 1, "the dead letter")
    wait_until(lambda: subscription(broker, "orders-hook")["lag"] == 0, "lag to reach 0")
    for p in range(3):
        assert strictly_increasing(receiver.acked[p]), f"partition {p} in order, once"
    assert receiver.acked_set() == expected
    assert all(receiver.records[where[n]]["value"] == {"n": n} for n in range(300) if n != poison)
    assert receiver.records[where[7]]["headers"] == {"origin": "test"}
    assert receiver.records[where[7]]["key"] == "k7"
    # Five attempts of the 20-record batch, then five of the record alone.
    assert receiver.failed_requests == 10
    stats = subscription(broker, "orders-hook")
    assert (stats["delivered_records"], stats["failed_attempts"], stats["dead_lettered"]) == (299, 10, 1)
    assert stats["state"] == "running" and "500" in stats["last_error"]
    assert receiver.bad_signatures == 0
    # /metrics says the same, in Prometheus' text format.
    with urllib.request.urlopen(f"{broker.http_url}/metrics", timeout=30) as response:
        families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
    push = {(f, s.labels["subscription"]): s.value
            for f in ["wharf_push_delivered_records", "wharf_push_failed_attempts", "wharf_push_dead_lettered",
                      "wharf_push_lag", "wharf_push_paused"]
            for s in families[f].samples if not s.name.endswith("_created")}
    assert push == {("wharf_push_delivered_records", "orders-hook"): 299, ("wharf_push_failed_attempts", "orders-hook"): 10,
                    ("wharf_push_dead_lettered", "orders-hook"): 1, ("wharf_push_lag", "orders-hook"): 0,
                    ("wharf_push_paused", "orders-hook"): 0}

    [letter] = read_all(broker.bootstrap, "orders.dlq", 1)
    assert (letter.key(), json.loads(letter.value())) == (b"k150", {"n": poison})
    headers = {k: v.decode() for k, v in letter.headers()}
    assert headers["origin"] == "test"
    assert headers["wharf.dlq.status"] == "500" and headers["wharf.dlq.attempts"] == "5"
    assert headers["wharf.dlq.reason"].startswith("webhook answered 500")
    assert (headers["wharf.dlq.topic"], headers["wharf.dlq.partition"], headers["wharf.dlq.offset"]) == ("orders", "0", "50")
    assert headers["wharf.dlq.subscription"] == "orders-hook"

    # kill -9 while the receiver holds each partition's third new batch unanswered.
    # Paused while producing, so each partition's 100 new records are all there when delivery
    # resumes from the committed offset and the batches are exactly 20 records (a held batch
    # starts at offset 140).
    receiver.fail_if(None)
    assert call(broker.http_url, "POST", "/v1/subscriptions/orders-hook/pause")[0] == 200
    where2 = produce(broker.bootstrap, "orders", [(n % 3, {"n": n}) for n in range(300, 600)])
    receiver.hold_after(2)
    time.sleep(QUIET_S)  # let a fetch that was waiting when the pause came see it (it drops what it read)
    assert call(broker.http_url, "POST", "/v1/subscriptions/orders-hook/resume")[0] == 200
    wait_until(lambda: len(receiver.held) == 3, "a held request per partition")
    acked_before = receiver.acked_set()
    held_first = {p: offsets[0] for p, offsets in receiver.held}
    assert held_first == {0: 140, 1: 140, 2: 140}, "two batches of 20 acknowledged after offsets 0..99"
    broker.kill9()
    receiver.release()
    with receiver.lock:
        after_from = {p: len(receiver.acked[p]) for p in range(3)}
    broker.start()

    assert subscription(broker, "orders-hook")["state"] == "running", "the subscription survived"
    everything = expected | set(where2.values())
    wait_until(lambda: receiver.acked_set() >= everything, "delivery after restart")
    for p in range(3):
        resumed = receiver.acked[p][after_from[p]:]
        assert resumed[0] == held_first[p], f"partition {p} resumes at its first unacknowledged offset"
        assert strictly_increasing(resumed)
        assert not {(p, o) for o in resumed} & acked_before, "no acknowledged record sent again"
    assert receiver.bad_signatures == 0


def test_push_pause_resume_delete_signature_and_validation(broker, receiver):
    create_topic(broker.bootstrap, "events", partitions=1)
    base = dict(topic="events", url=receiver.url, secret=SECRET.decode(), batch_size=10, linger_ms=10,
                initial_backoff_ms=5, max_backoff_ms=20)
    subscribe(broker, name="ev", group="ev-push", **base)

    status, body = call(broker.http_url, "POST", "/v1/subscriptions/ev/pause")
    assert (status, body["state"]) == (200, "paused")
    produce(broker.bootstrap, "events", [(0, {"n": n}) for n in range(10)])
    time.sleep(QUIET_S)
    assert receiver.acked_set() == set(), "nothing is delivered while paused"
    assert subscription(broker, "ev")["state"] == "paused"

    status, body = call(broker.http_url, "POST", "/v1/subscriptions/ev/resume")
    assert (status, body["state"]) == (200, "running")
    wait_until(lambda: len(receiver.acked_set()) == 10, "delivery after resume")
    assert receiver.acked[0] == list(range(10))

    status, listed = call(broker.http_url, "GET", "/v1/subscriptions")
    assert status == 200 and [s["name"] for s in listed["subscriptions"]] == ["ev"]

    assert call(broker.http_url, "DELETE", "/v1/subscriptions/ev")[0] == 204
    assert call(broker.http_url, "GET", "/v1/subscriptions/ev")[0] == 404
    produce(broker.bootstrap, "events", [(0, {"n": n}) for n in range(10, 15)])
    time.sleep(QUIET_S)
    assert len(receiver.acked_set()) == 10, "nothing is delivered after delete"
    probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "ev-push", "enable.auto.commit": False})
    try:
        [tp] = probe.committed([TopicPartition("events", 0)], timeout=10)
    finally:
        probe.close()
    assert tp.offset == 10, "the group's offsets stay after delete"

    # A subscription whose secret is not the receiver's: every request is refused as forged.
    subscribe(broker, name="forged", **{**base, "secret": "not-the-receivers-secret", "max_attempts": 2})
    wait_until(lambda: subscription(broker, "forged")["dead_lettered"] == 15, "forged requests dead-lettered")
    assert receiver.bad_signatures >= 2 and "forged" not in receiver.subscriptions
    assert "401" in subscription(broker, "forged")["last_error"]
    # The check itself: the right secret verifies, another secret or a changed body does not.
    sig = expected_signature(SECRET, "1700000000", b"{}")
    assert signature_ok(SECRET, "1700000000", sig, b"{}")
    assert not signature_ok(b"wrong", "1700000000", sig, b"{}")
    assert not signature_ok(SECRET, "1700000000", sig, b"{ }")

    # Bad registrations.
    bad = {
        "https url": ({**base, "name": "x", "url": "https://127.0.0.1/hook"}, 400),
        "batch too big": ({**base, "name": "x", "batch_size": 1001}, 400),
        "empty secret": ({**base, "name": "x", "secret": ""}, 400),
        "unknown field": ({**base, "name": "x", "colour": "red"}, 400),
        "unknown topic": ({**base, "name": "x", "topic": "nope"}, 404),
        "duplicate name": ({**base, "name": "forged", "group": "other"}, 409),
    }
    for what, (fields, expected_status) in bad.items():
        status, body = call(broker.http_url, "POST", "/v1/subscriptions", fields)
        assert status == expected_status, (what, body)
        assert body["message"], what
    assert call(broker.http_url, "POST", "/v1/subscriptions/nope/pause")[0] == 404
