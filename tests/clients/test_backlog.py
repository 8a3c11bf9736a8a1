"""Bounded backlog per partition (peak shaving, issue #4) with real clients.

Proves: with max.backlog.messages=10000 and overflow policy `reject`, confluent-kafka gets exactly
10,000 records accepted and every excess one refused with POLICY_VIOLATION in its delivery report,
with no retry by librdkafka (its own statistics say so); the backlog, sampled every 100 ms as high
watermark minus the slow group's committed offset, never exceeds the cap; once the group consumes
and commits, producing succeeds again up to the cap; the group reads every accepted record exactly
once, in order. kafka-python's send() future fails with PolicyViolationError. With `drop-oldest`,
25,000 records all succeed and exactly the newest 10,000 remain and are readable.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaProducer
from kafka.errors import PolicyViolationError

from librdkafka_client import (
    Delivery,
    base_config,
    consume_partitions,
    create_topic,
    produce_all,
    producer_config,
)

CAP = 10_000


def deliveries(bootstrap: str, topic: str, values: list[bytes], stats: list[dict]) -> list[Delivery]:
    # One record per batch: a batch is admitted or refused whole, so this makes the cut exact.
    producer = Producer(producer_config(
        bootstrap,
        **{
            "batch.num.messages": 1,
            "statistics.interval.ms": 100,
            "stats_cb": lambda s: stats.append(json.loads(s)),
        },
    ))
    reports = produce_all(producer, topic, ({"value": v, "partition": 0} for v in values))
    producer.poll(0.3)  # one more statistics callback after the last delivery
    return reports


def committed(consumer: Consumer, topic: str) -> int:
    [tp] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
    return tp.offset


class BacklogSampler(threading.Thread):
    """Every 100 ms: high watermark minus the group's committed offset (0 before any commit)."""

    def __init__(self, bootstrap: str, topic: str, group: str):
        super().__init__(daemon=True)
        config = base_config(bootstrap)
        config.update({"group.id": group, "enable.auto.commit": False})
        self.consumer = Consumer(config)
        self.topic = topic
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            _, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, 0), timeout=5)
            base = committed(self.consumer, self.topic)
            self.samples.append(high - max(base, 0))
            self.stop.wait(0.1)
        self.consumer.close()


def read_group(bootstrap: str, topic: str, group: str, count: int) -> list[tuple[int, bytes]]:
    """Consumes `count` records as `group` (from its commit, else earliest) and commits them."""
    config = base_config(bootstrap)
    config.update({"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer = Consumer(config)
    consumer.assign([TopicPartition(topic, 0)])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < count:
        assert time.monotonic() < deadline, f"read {len(got)} of {count}"
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            got.append((msg.offset(), msg.value()))
    consumer.commit(offsets=[TopicPartition(topic, 0, got[-1][0] + 1)], asynchronous=False)
    consumer.close()
    return got


@pytest.mark.wharf_args("--flush-interval-ms", "50")
def test_reject_caps_backlog_refuses_excess_without_retries_and_resumes(broker):
    topic, group = "shave-reject", f"slow-{uuid.uuid4()}"
    create_topic(broker.bootstrap, topic, 1, {
        "max.backlog.messages": str(CAP),
        "backlog.group": group,
        "backlog.overflow.policy": "reject",
    })
    sampler = BacklogSampler(broker.bootstrap, topic, group)
    sampler.start()
    try:
        stats: list[dict] = []
        values = [f"order-{i}".encode() for i in range(15_000)]
        reports = deliveries(broker.bootstrap, topic, values, stats)
        accepted = [r for r in reports if r.error is None]
        refused = [r for r in reports if r.error is not None]
        assert [r.value for r in accepted] == values[:CAP]
        assert [r.offset for r in accepted] == list(range(CAP))
        assert len(refused) == 5_000
        assert {r.error.code() for r in refused} == {KafkaError.POLICY_VIOLATION}
        # librdkafka treated the refusal as final: not one request was retried.
        assert sum(b["txretries"] for b in stats[-1]["brokers"].values()) == 0

        first = read_group(broker.bootstrap, topic, group, 5_000)
        assert [v for _, v in first] == values[:5_000]
        more = [f"later-{i}".encode() for i in range(5_001)]
        reports = deliveries(broker.bootstrap, topic, more, [])
        assert [r.error is None for r in reports] == [True] * 5_000 + [False]
        assert reports[-1].error.code() == KafkaError.POLICY_VIOLATION

        rest = read_group(broker.bootstrap, topic, group, 10_000)
        assert [o for o, _ in first + rest] == list(range(15_000))
        assert [v for _, v in rest] == values[5_000:CAP] + more[:5_000]
    finally:
        sampler.stop.set()
        sampler.join()
    assert len(sampler.samples) >= 5
    assert max(sampler.samples) <= CAP, max(sampler.samples)


def test_reject_kafka_python_send_fails_with_policy_violation(broker):
    topic = "shave-kafka-python"
    create_topic(broker.bootstrap, topic, 1, {"max.backlog.messages": "3"})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=False, linger_ms=0)
    try:
        offsets = [producer.send(topic, f"v{i}".encode(), partition=0).get(timeout=30).offset for i in range(3)]
        assert offsets == [0, 1, 2]
        with pytest.raises(PolicyViolationError):
            producer.send(topic, b"one too many", partition=0).get(timeout=30)
    finally:
        producer.close()


def test_drop_oldest_keeps_newest_within_cap(broker):
    topic = "shave-drop"
    create_topic(broker.bootstrap, topic, 1, {
        "max.backlog.messages": str(CAP),
        "backlog.overflow.policy": "drop-oldest",
    })
    values = [f"reading-{i}".encode() for i in range(25_000)]
    reports = deliveries(broker.bootstrap, topic, values, [])
    assert all(r.error is None for r in reports)
    assert [r.offset for r in reports] == list(range(25_000))
    records = consume_partitions(broker.bootstrap, topic, [0])
    assert [r.offset for r in records] == list(range(15_000, 25_000))
    assert [r.value for r in records] == values[15_000:]
