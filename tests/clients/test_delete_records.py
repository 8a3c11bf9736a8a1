"""DeleteRecords through AdminClient.delete_records (confluent-kafka >= 2.4).

Proves: deleting before offset 40 of 100 answers low watermark 40, the watermarks become (40, 100),
a consumer from OFFSET_BEGINNING starts at exactly offset 40, and ListOffsets(earliest) agrees.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from librdkafka_client import (
    REQUEST_TIMEOUT_S,
    admin_client,
    assert_all_delivered,
    assert_contiguous_per_partition,
    consume_partitions,
    consumer_config,
    create_topic,
    produce_all,
    producer_config,
)

COUNT = 100
DELETE_BEFORE = 40


def test_delete_records_moves_low_watermark_exact(broker):
    topic = "delete-records"
    create_topic(broker.bootstrap, topic, partitions=1)
    producer = Producer(producer_config(broker.bootstrap))
    assert_all_delivered(produce_all(producer, topic, ({"value": f"v{i}".encode()} for i in range(COUNT))))

    admin = admin_client(broker.bootstrap)
    request = TopicPartition(topic, 0, DELETE_BEFORE)
    deleted = admin.delete_records([request], request_timeout=REQUEST_TIMEOUT_S)[request].result(
        timeout=REQUEST_TIMEOUT_S
    )
    assert deleted.low_watermark == DELETE_BEFORE

    consumer = Consumer(consumer_config(broker.bootstrap))
    try:
        watermarks = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=REQUEST_TIMEOUT_S)
        assert watermarks == (DELETE_BEFORE, COUNT)
    finally:
        consumer.close()

    tp = TopicPartition(topic, 0)
    earliest = admin.list_offsets({tp: OffsetSpec.earliest()}, request_timeout=REQUEST_TIMEOUT_S)[tp]
    assert earliest.result(timeout=REQUEST_TIMEOUT_S).offset == DELETE_BEFORE

    records = consume_partitions(broker.bootstrap, topic, [0])
    assert_contiguous_per_partition(records, start=DELETE_BEFORE)
    assert [r.value for r in records] == [f"v{i}".encode() for i in range(DELETE_BEFORE, COUNT)]
