"""confluent-kafka (current librdkafka) produce and assign()-consume of 100,000 records.

Proves: across a 3-partition topic every acknowledged record comes back exactly once, at the
offset its delivery report named, in produce order within its partition, with its key, value,
headers and explicit CreateTime timestamp unchanged; and each key stays in one partition.
"""

from __future__ import annotations

from confluent_kafka import TIMESTAMP_CREATE_TIME, Producer

from librdkafka_client import (
    assert_all_delivered,
    assert_contiguous_per_partition,
    consume_partitions,
    create_topic,
    produce_all,
    producer_config,
)

MESSAGE_COUNT = 100_000
PARTITIONS = 3
BASE_TIMESTAMP_MS = 1_700_000_000_000


def message(i: int) -> dict:
    return {
        "key": f"user-{i % 1009}".encode(),
        "value": f"payload-{i:06d}|".encode() + bytes([i % 256]) * (i % 64),
        "headers": [("seq", str(i).encode()), ("kind", b"even" if i % 2 == 0 else b"odd"), ("empty", b"")],
        "timestamp": BASE_TIMESTAMP_MS + i,
    }


def test_confluent_produce_consume_100k_three_partitions_exact(broker):
    topic = "confluent-100k"
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS)

    producer = Producer(producer_config(broker.bootstrap))
    reports = produce_all(producer, topic, (message(i) for i in range(MESSAGE_COUNT)))
    assert_all_delivered(reports)
    landed = {(r.partition, r.offset): r for r in reports}
    assert len(landed) == MESSAGE_COUNT, "two delivery reports named the same partition and offset"

    records = consume_partitions(broker.bootstrap, topic, list(range(PARTITIONS)))

    assert len(records) == MESSAGE_COUNT
    assert_contiguous_per_partition(records)
    seen: set[int] = set()
    partition_of_key: dict[bytes, int] = {}
    last_seq_in_partition: dict[int, int] = {}
    for record in records:
        seq = int(record.value.split(b"|")[0].split(b"-")[1])
        assert seq not in seen, f"seq {seq} consumed twice"
        seen.add(seq)
        sent = message(seq)
        assert record.key == sent["key"]
        assert record.value == sent["value"]
        assert list(record.headers) == sent["headers"]
        assert (record.timestamp_type, record.timestamp_ms) == (TIMESTAMP_CREATE_TIME, sent["timestamp"])
        assert landed[(record.partition, record.offset)].value == record.value, "not where the report said"
        assert partition_of_key.setdefault(record.key, record.partition) == record.partition
        assert seq > last_seq_in_partition.get(record.partition, -1), f"partition {record.partition} out of order"
        last_seq_in_partition[record.partition] = seq
    assert seen == set(range(MESSAGE_COUNT))
    assert len(last_seq_in_partition) == PARTITIONS, "1009 keys should reach every partition"
