"""ListOffsets through librdkafka: by timestamp, earliest, latest and max timestamp.

Proves: a timestamp lookup answers the first offset whose timestamp is at or after it (-1 past the
newest record, KAFKA_NOTES quirk 9); the watermarks are (log_start_offset, last offset + 1)
(quirk 7); and the Admin ListOffsets specs earliest / latest / max_timestamp (KIP-734) agree.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from librdkafka_client import (
    REQUEST_TIMEOUT_S,
    admin_client,
    assert_all_delivered,
    consumer_config,
    create_topic,
    produce_all,
    producer_config,
)

COUNT = 100
BASE_MS = 1_650_000_000_000
STEP_MS = 10


def timestamp_of(offset: int) -> int:
    return BASE_MS + STEP_MS * offset


def test_list_offsets_by_timestamp_and_watermarks_exact(broker):
    topic = "list-offsets"
    create_topic(broker.bootstrap, topic, partitions=1)
    producer = Producer(producer_config(broker.bootstrap, **{"linger.ms": 20}))
    reports = produce_all(
        producer, topic, ({"value": f"v{i}".encode(), "timestamp": timestamp_of(i)} for i in range(COUNT))
    )
    assert_all_delivered(reports)
    assert sorted(r.offset for r in reports) == list(range(COUNT))

    consumer = Consumer(consumer_config(broker.bootstrap))
    try:
        lookups = {
            BASE_MS - 60_000: 0,  # before everything: the first record
            timestamp_of(0): 0,
            timestamp_of(37): 37,  # exact match
            timestamp_of(37) + 5: 38,  # between two records: the next one
            timestamp_of(COUNT - 1): COUNT - 1,  # the newest record
            timestamp_of(COUNT - 1) + 1: -1,  # past the newest: -1, not 0 and not the end offset
        }
        for ts, want in lookups.items():
            [answer] = consumer.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=REQUEST_TIMEOUT_S)
            assert answer.error is None, answer.error
            assert answer.offset == want, f"offsets_for_times({ts}) = {answer.offset}, expected {want}"

        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=REQUEST_TIMEOUT_S)
        assert (low, high) == (0, COUNT)
    finally:
        consumer.close()

    admin = admin_client(broker.bootstrap)
    tp = TopicPartition(topic, 0)
    for spec, want_offset, want_ts in [
        (OffsetSpec.earliest(), 0, None),
        (OffsetSpec.latest(), COUNT, None),
        (OffsetSpec.max_timestamp(), COUNT - 1, timestamp_of(COUNT - 1)),
        (OffsetSpec.for_timestamp(timestamp_of(50)), 50, timestamp_of(50)),
    ]:
        result = admin.list_offsets({tp: spec}, request_timeout=REQUEST_TIMEOUT_S)[tp].result(timeout=REQUEST_TIMEOUT_S)
        assert result.offset == want_offset, f"{spec!r}: offset {result.offset}, expected {want_offset}"
        if want_ts is not None:
            assert result.timestamp == want_ts, f"{spec!r}: timestamp {result.timestamp}, expected {want_ts}"
