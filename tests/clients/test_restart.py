"""A graceful restart loses nothing.

Proves: records acknowledged with acks=all and a topic's configs survive SIGTERM (which must exit 0)
and a restart on the same data dir and port; the log is read back exactly, the high watermark is
unchanged, and new records continue at the next offset.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import ConfigResource, ResourceType

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

COUNT = 20_000
PARTITIONS = 2


def payload(i: int) -> dict:
    return {"key": f"k{i}".encode(), "value": f"restart-{i}".encode(), "partition": i % PARTITIONS}


def test_restart_after_sigterm_keeps_every_acked_record(broker):
    topic = "restart"
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS, config={"retention.ms": "86400000"})
    producer = Producer(producer_config(broker.bootstrap))
    assert_all_delivered(produce_all(producer, topic, (payload(i) for i in range(COUNT))))
    del producer

    assert broker.stop() == 0, "wharf should exit 0 on SIGTERM"
    broker.start()

    records = consume_partitions(broker.bootstrap, topic, list(range(PARTITIONS)))
    assert len(records) == COUNT
    assert_contiguous_per_partition(records)
    for partition in range(PARTITIONS):
        values = [r.value for r in records if r.partition == partition]
        assert values == [payload(i)["value"] for i in range(partition, COUNT, PARTITIONS)]

    consumer = Consumer(consumer_config(broker.bootstrap))
    try:
        for partition in range(PARTITIONS):
            watermarks = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=REQUEST_TIMEOUT_S)
            assert watermarks == (0, COUNT // PARTITIONS)
    finally:
        consumer.close()

    admin = admin_client(broker.bootstrap)
    resource = ConfigResource(ResourceType.TOPIC, topic)
    described = admin.describe_configs([resource])[resource].result(timeout=REQUEST_TIMEOUT_S)
    assert described["retention.ms"].value == "86400000"

    producer = Producer(producer_config(broker.bootstrap))
    [after] = produce_all(producer, topic, [{"value": b"after restart", "partition": 0}])
    assert (after.error, after.offset) == (None, COUNT // PARTITIONS)
