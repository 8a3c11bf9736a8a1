"""confluent-kafka (librdkafka) operations shared by the tests: create a topic, produce and await
every delivery report, and read partitions back with assign() from explicit offsets.

These consumers assign partitions at OFFSET_BEGINNING (or a given offset) and stop at end of
partition, so log tests do not depend on rebalancing (test_groups.py covers subscribe()). librdkafka
still needs a group.id to build a consumer; with assign() and auto-commit off it never joins it.
Producers turn idempotence off explicitly because Wharf has no InitProducerId yet.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

REQUEST_TIMEOUT_S = 30.0

# librdkafka's own log lines go through Python logging, so pytest shows them with a failing test
# instead of printing them to the terminal (clients outliving their broker log reconnect errors).
LIBRDKAFKA_LOGGER = logging.getLogger("librdkafka")


def base_config(bootstrap: str) -> dict[str, object]:
    return {"bootstrap.servers": bootstrap, "broker.address.family": "v4", "logger": LIBRDKAFKA_LOGGER}


@dataclass(frozen=True)
class Record:
    """One consumed record, detached from librdkafka's Message so it can be compared and kept."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_type: int
    timestamp_ms: int


@dataclass(frozen=True)
class Delivery:
    """One delivery report: where an acknowledged record landed, or why it was not."""

    key: bytes | None
    value: bytes | None
    partition: int
    offset: int
    error: KafkaError | None


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient(base_config(bootstrap))


def create_topic(bootstrap: str, topic: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    """CreateTopics and wait until Metadata shows every partition with a leader."""
    admin = admin_client(bootstrap)
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        request_timeout=REQUEST_TIMEOUT_S,
    )
    futures[topic].result(timeout=REQUEST_TIMEOUT_S)
    wait_for_partitions(admin, topic, partitions)


def wait_for_partitions(admin: AdminClient, topic: str, partitions: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        meta = admin.list_topics(topic=topic, timeout=REQUEST_TIMEOUT_S).topics.get(topic)
        if meta is not None and meta.error is None and len(meta.partitions) == partitions:
            if all(p.leader >= 0 and p.error is None for p in meta.partitions.values()):
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"topic {topic} not ready with {partitions} partitions: {meta!r}")
        time.sleep(0.05)


def producer_config(bootstrap: str, **overrides: object) -> dict[str, object]:
    config = base_config(bootstrap)
    config.update({
        "enable.idempotence": False,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 60_000,
    })
    config.update(overrides)
    return config


def produce_all(producer: Producer, topic: str, messages, timeout: float = 120.0) -> list[Delivery]:
    """Produce each message (a dict of Producer.produce keyword arguments) and wait for every report.

    Returns the delivery reports in the order they arrived; a local queue-full is waited out rather
    than failing, so large batches work with librdkafka's default queue size.
    """
    reports: list[Delivery] = []

    def on_delivery(err, msg):
        reports.append(Delivery(msg.key(), msg.value(), msg.partition(), msg.offset(), err))

    sent = 0
    for message in messages:
        while True:
            try:
                producer.produce(topic, on_delivery=on_delivery, **message)
                break
            except BufferError:
                producer.poll(0.05)
        sent += 1
        if sent % 1000 == 0:
            producer.poll(0)
    remaining = producer.flush(timeout)
    assert remaining == 0, f"{remaining} of {sent} messages still undelivered after {timeout}s"
    assert len(reports) == sent, f"{len(reports)} delivery reports for {sent} messages"
    return reports


def assert_all_delivered(reports: list[Delivery]) -> None:
    failed = [r for r in reports if r.error is not None]
    assert not failed, f"{len(failed)} of {len(reports)} deliveries failed; first: {failed[0].error}"


def produce_tagged(bootstrap: str, topic: str, partitions: int, per_partition: int, tag: str) -> set[bytes]:
    """Produce `per_partition` records to each partition, valued `TAG-PARTITION-I`, all acknowledged.

    The value names its partition so a consumer's attribution can be checked from the value alone."""
    producer = Producer(producer_config(bootstrap))
    values = [f"{tag}-{p}-{i}".encode() for p in range(partitions) for i in range(per_partition)]
    reports = produce_all(producer, topic, ({"value": v, "partition": int(v.split(b"-")[-2])} for v in values))
    assert_all_delivered(reports)
    return set(values)


def committed_offsets(admin: AdminClient, group: str, topic: str, partitions: int) -> dict[int, int]:
    """The group's committed offset per partition of `topic` (-1001 where it has none), via the
    Admin API's OffsetFetch."""
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])]
    result = admin.list_consumer_group_offsets(request, request_timeout=REQUEST_TIMEOUT_S)[group]
    return {tp.partition: tp.offset for tp in result.result(timeout=REQUEST_TIMEOUT_S).topic_partitions}


def wait_for_committed(admin: AdminClient, group: str, topic: str, want: dict[int, int], timeout: float = 60.0) -> None:
    """Wait until the group's committed offsets on `topic` are exactly `want` (partition -> offset)."""
    deadline = time.monotonic() + timeout
    while (got := committed_offsets(admin, group, topic, len(want))) != want:
        assert time.monotonic() < deadline, f"group {group} committed {got}, expected {want}"
        time.sleep(0.1)


def consumer_config(bootstrap: str, **overrides: object) -> dict[str, object]:
    config = base_config(bootstrap)
    config.update({
        "group.id": f"wharf-test-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "error",
    })
    config.update(overrides)
    return config


def consume_partitions(
    bootstrap: str,
    topic: str,
    partitions: list[int],
    *,
    expected: int | None = None,
    start_offset: int = OFFSET_BEGINNING,
    timeout: float = 120.0,
    **config_overrides: object,
) -> list[Record]:
    """Assign `partitions` at `start_offset` and read until every one has hit end of partition.

    With `expected`, keeps reading past end of partition until that many records arrived (for
    data produced concurrently). Any consumer error other than end-of-partition fails the test.
    """
    consumer = Consumer(consumer_config(bootstrap, **config_overrides))
    try:
        consumer.assign([TopicPartition(topic, p, start_offset) for p in partitions])
        records: list[Record] = []
        at_eof: set[int] = set()
        deadline = time.monotonic() + timeout
        while True:
            done_by_eof = len(at_eof) == len(partitions)
            if done_by_eof and (expected is None or len(records) >= expected):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"consume of {topic} timed out after {timeout}s: {len(records)} records"
                    f"{'' if expected is None else f' of {expected}'}, partitions at end: {sorted(at_eof)}"
                )
            for msg in consumer.consume(num_messages=5000, timeout=0.5):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        at_eof.add(msg.partition())
                        continue
                    raise KafkaException(err)
                at_eof.discard(msg.partition())
                ts_type, ts = msg.timestamp()
                records.append(
                    Record(
                        partition=msg.partition(),
                        offset=msg.offset(),
                        key=msg.key(),
                        value=msg.value(),
                        headers=tuple(msg.headers() or ()),
                        timestamp_type=ts_type,
                        timestamp_ms=ts,
                    )
                )
    finally:
        consumer.close()


def assert_contiguous_per_partition(records: list[Record], start: int = 0) -> None:
    """Offsets within each partition come back ascending, without gaps, from `start`."""
    by_partition: dict[int, list[int]] = {}
    for r in records:
        by_partition.setdefault(r.partition, []).append(r.offset)
    for partition, offsets in by_partition.items():
        want = list(range(start, start + len(offsets)))
        if offsets != want:
            bad = next(i for i, (a, b) in enumerate(zip(offsets, want)) if a != b)
            raise AssertionError(
                f"partition {partition}: offsets not contiguous from {start}; "
                f"first mismatch at index {bad}: got {offsets[bad]}, expected {want[bad]}"
            )
