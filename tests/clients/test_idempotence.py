"""Idempotent producers through kill -9: exactly once, in order (issue #5).

confluent-kafka (librdkafka, enable.idempotence=true) and kafka-python 3 (enable_idempotence=True)
each send 100,000 numbered messages over 2 partitions. When the producer's delivery reports reach
KILL_AT acknowledged messages the broker gets SIGKILL and is restarted on the same data dir and
port, three times per run, while the producer keeps sending and retrying what was in flight.

Proves: every message is acknowledged without error, and each partition holds exactly the
messages sent to it, each once, in the order sent, at contiguous offsets from 0. Retries of
batches the killed broker had already written are recognised after the restart (the producer
state is rebuilt from the log) and answered with their original offsets instead of being written
again: without idempotence this same run leaves duplicates (see test_kill9_durability.py).
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import Producer
from kafka import KafkaProducer

from librdkafka_client import consume_partitions, create_topic, producer_config

COUNT = 100_000
PARTITIONS = 2
# Acknowledged-message counts at which the broker is killed. Whether a kill catches batches the
# broker wrote but had not yet acknowledged is down to timing (about half of the kills do, judging
# by the same run without idempotence, which then fails with duplicates), so three kills per run.
KILL_AT = (15_000, 40_000, 65_000)
# The broker logs each retried batch it recognised at debug level in this module.
BROKER_LOG = "info,wharf_broker::api::produce=debug"
DUPLICATE_LINE = "duplicate idempotent batch"


def start_run(broker_factory, monkeypatch, topic: str):
    """A broker logging recognised duplicates, the topic, and a killer watching deliveries."""
    monkeypatch.setenv("RUST_LOG", BROKER_LOG)
    broker = broker_factory()
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    return broker, Killer(broker)


def finish_run(broker, killer, topic: str) -> None:
    """Every message acknowledged, the broker killed as planned, the log exactly as sent."""
    killer.join()
    assert killer.acked == COUNT
    report_duplicates(broker)
    assert_exactly_once_in_order(broker.bootstrap, topic)


def report_duplicates(broker) -> None:
    """Prints how many retries the broker answered as duplicates (for the record, not asserted:
    how many in-flight batches a kill catches is timing)."""
    text = broker.log_path.read_text(errors="replace")
    print(f"broker recognised {text.count(DUPLICATE_LINE)} duplicate batches across {broker.starts} starts")


def payload(i: int) -> bytes:
    return f"m{i:06d}".encode()


class Killer:
    """kill -9 and restart the broker each time `acked` passes the next KILL_AT mark."""

    def __init__(self, broker):
        self.broker = broker
        self.acked = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.kills = 0
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="killer", daemon=True)
        self.thread.start()

    def on_ack(self, error: object | None) -> None:
        with self.lock:
            if error is None:
                self.acked += 1
            else:
                self.errors.append(str(error))

    def _run(self) -> None:
        try:
            for mark in KILL_AT:
                while True:
                    with self.lock:
                        if self.acked >= mark or self.errors:
                            break
                    time.sleep(0.002)
                if self.errors:
                    return
                self.broker.kill9()
                self.kills += 1
                self.broker.start()
        except BaseException as err:  # reported by join(); a thread's exception is otherwise lost
            self.failure = err

    def join(self) -> None:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "killer thread hung"
        if self.failure is not None:
            raise self.failure
        assert not self.errors, f"{len(self.errors)} deliveries failed; first: {self.errors[0]}"
        assert self.kills == len(KILL_AT), f"broker killed {self.kills} times, wanted {len(KILL_AT)}"


def assert_exactly_once_in_order(bootstrap: str, topic: str) -> None:
    records = consume_partitions(bootstrap, topic, list(range(PARTITIONS)), timeout=60)
    for p in range(PARTITIONS):
        got = [r for r in records if r.partition == p]
        assert [r.offset for r in got] == list(range(len(got))), f"partition {p}: offsets not contiguous"
        values = [r.value for r in got]
        want = [payload(i) for i in range(p, COUNT, PARTITIONS)]
        if values != want:
            duplicates = len(values) - len(set(values))
            first = next((k for k, (a, b) in enumerate(zip(values, want)) if a != b), min(len(values), len(want)))
            raise AssertionError(
                f"partition {p}: {len(values)} records, want {len(want)}; {duplicates} duplicates; "
                f"first difference at offset {first}: "
                f"{values[first] if first < len(values) else None!r} != {want[first] if first < len(want) else None!r}"
            )


def test_confluent_idempotent_producer_through_kill9_exactly_once_in_order(broker_factory, monkeypatch):
    topic = "idem-confluent"
    broker, killer = start_run(broker_factory, monkeypatch, topic)
    producer = Producer(
        producer_config(
            broker.bootstrap,
            **{
                "enable.idempotence": True,
                "message.timeout.ms": 120_000,
                "reconnect.backoff.max.ms": 200,
                "queue.buffering.max.messages": COUNT,
            },
        )
    )

    def on_delivery(err, _msg):
        killer.on_ack(err)

    for i in range(COUNT):
        while True:
            try:
                producer.produce(topic, value=payload(i), partition=i % PARTITIONS, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 1000 == 0:
            producer.poll(0)
    # Deliveries (and with them the kills) continue while flush polls.
    remaining = producer.flush(120)
    assert remaining == 0, f"{remaining} messages undelivered"
    finish_run(broker, killer, topic)


def test_kafka_python_idempotent_producer_through_kill9_exactly_once_in_order(broker_factory, monkeypatch):
    topic = "idem-kafka-python"
    broker, killer = start_run(broker_factory, monkeypatch, topic)
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        delivery_timeout_ms=120_000,
        request_timeout_ms=30_000,
        reconnect_backoff_max_ms=200,
        max_in_flight_requests_per_connection=5,
    )
    try:
        for i in range(COUNT):
            future = producer.send(topic, value=payload(i), partition=i % PARTITIONS)
            future.add_callback(lambda _meta: killer.on_ack(None))
            future.add_errback(killer.on_ack)
        producer.flush(timeout=120)
    finally:
        producer.close(timeout=10)
    finish_run(broker, killer, topic)
