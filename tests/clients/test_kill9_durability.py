"""kill -9 under acks=all load, 20 times over the same data dir (STYLE.md test layer 5).

Each round a background confluent-kafka producer (acks=all, idempotence off, linger.ms=5) sends
sequence-numbered records and notes which were acknowledged; at a random moment 0.2-1.5 s in, the
broker gets SIGKILL, is restarted on the same data dir and port, the producer drains what it still
holds into the restarted broker, and the whole topic is read back from offset 0.

Proves, cumulatively over all rounds: every acknowledged record is present, at the very offset its
acknowledgement named; offsets are contiguous from 0 (recovery truncates torn tails, never leaves
holes); earlier rounds' records survive later crashes. Duplicates are allowed (a record written but
not acknowledged before the kill is retried without idempotence) and reported, not failed.
Replay a run with WHARF_CRASH_SEED=<seed printed below>.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from confluent_kafka import Producer

from librdkafka_client import Delivery, consume_partitions, create_topic, producer_config

ROUNDS = 20
TOPIC = "crash"


class SequenceProducer:
    """Produces `r<round>-s<seq>` records until stopped; keeps every delivery report."""

    def __init__(self, bootstrap: str, round_no: int, first_seq: int):
        self.producer = Producer(
            producer_config(bootstrap, **{"linger.ms": 5, "message.timeout.ms": 30_000, "reconnect.backoff.max.ms": 200})
        )
        self.round_no = round_no
        self.next_seq = first_seq
        self.reports: list[Delivery] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"producer-round-{round_no}", daemon=True)

    def _on_delivery(self, err, msg):
        self.reports.append(Delivery(msg.key(), msg.value(), msg.partition(), msg.offset(), err))

    def _run(self):
        # Paced at about 100 records per 10 ms so 20 rounds stay small enough to re-read each round.
        while not self.stop_event.is_set():
            for _ in range(100):
                value = f"r{self.round_no:02d}-s{self.next_seq:09d}".encode()
                try:
                    self.producer.produce(TOPIC, value=value, partition=0, on_delivery=self._on_delivery)
                except BufferError:
                    break
                self.next_seq += 1
            self.producer.poll(0.01)

    def start(self):
        self.thread.start()

    def stop_producing(self):
        self.stop_event.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "producer thread did not stop"

    def drain(self, timeout: float = 40.0) -> int:
        """Deliver or fail whatever is still queued; returns how many are still unresolved."""
        return self.producer.flush(timeout)


@pytest.mark.timeout(600)
def test_kill9_under_acks_all_load_every_acked_record_survives(broker):
    seed = int(os.environ.get("WHARF_CRASH_SEED", random.randrange(2**32)))
    print(f"WHARF_CRASH_SEED={seed}")
    rng = random.Random(seed)
    create_topic(broker.bootstrap, TOPIC, partitions=1)

    acked: dict[bytes, int] = {}  # value -> offset the broker acknowledged
    next_seq = 0
    total_duplicates = 0
    for round_no in range(ROUNDS):
        producer = SequenceProducer(broker.bootstrap, round_no, next_seq)
        producer.start()
        delay = rng.uniform(0.2, 1.5)
        time.sleep(delay)
        broker.kill9()
        producer.stop_producing()
        broker.start()
        unresolved = producer.drain()
        next_seq = producer.next_seq
        assert unresolved == 0, f"round {round_no}: {unresolved} records neither acknowledged nor failed"

        round_acked = [r for r in producer.reports if r.error is None]
        round_failed = len(producer.reports) - len(round_acked)
        for report in round_acked:
            assert report.value not in acked, f"{report.value!r} acknowledged twice"
            acked[report.value] = report.offset

        records = consume_partitions(broker.bootstrap, TOPIC, [0], timeout=60)
        offsets = [r.offset for r in records]
        assert offsets == list(range(len(records))), f"round {round_no}: offsets not contiguous from 0"
        value_at = [r.value for r in records]
        missing = [v for v, offset in acked.items() if offset >= len(value_at) or value_at[offset] != v]
        assert not missing, (
            f"round {round_no} (seed {seed}): {len(missing)} acknowledged records missing or moved; "
            f"first {missing[0]!r} acknowledged at offset {acked[missing[0]]}"
        )
        duplicates = len(value_at) - len(set(value_at))
        total_duplicates = duplicates
        print(
            f"round {round_no:2d}: killed after {delay:.2f}s, sent {len(producer.reports)}, "
            f"acked {len(round_acked)}, failed {round_failed}, log {len(records)} records, duplicates so far {duplicates}"
        )

    assert len(acked) > 0, "no record was ever acknowledged: the test proved nothing"
    print(f"{ROUNDS} rounds: {len(acked)} acknowledged records all present; {total_duplicates} duplicates in the log")
