"""Per-topic max.message.bytes is enforced by the broker, per batch, without collateral damage.

Proves: on a topic with max.message.bytes=1000 a 5,000-byte record is refused with
MESSAGE_TOO_LARGE in the delivery report (the client's own limit is raised so that the broker, not
librdkafka, is what refuses), and afterwards the same producer still delivers small records to that
topic and to another one, and nothing of the refused record was stored.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, Producer

from librdkafka_client import (
    assert_all_delivered,
    consume_partitions,
    create_topic,
    produce_all,
    producer_config,
)


def test_produce_over_topic_max_message_bytes_message_too_large(broker):
    small_topic, other_topic = "limit-1000", "no-limit"
    create_topic(broker.bootstrap, small_topic, partitions=1, config={"max.message.bytes": "1000"})
    create_topic(broker.bootstrap, other_topic, partitions=1)
    producer = Producer(
        producer_config(
            broker.bootstrap,
            **{
                "message.max.bytes": 10_000_000,
                "compression.type": "none",
                # A refused batch is not retriable; keep the test fast if a broker says otherwise.
                "retries": 0,
                "linger.ms": 0,
            },
        )
    )

    [refused] = produce_all(producer, small_topic, [{"value": b"x" * 5000}])
    assert refused.error is not None, "a 5,000-byte record was accepted by a topic limited to 1,000 bytes"
    assert refused.error.code() == KafkaError.MSG_SIZE_TOO_LARGE, refused.error

    assert_all_delivered(produce_all(producer, small_topic, [{"value": b"small after refusal"}]))
    assert_all_delivered(produce_all(producer, other_topic, [{"value": b"y" * 5000}]))

    stored = consume_partitions(broker.bootstrap, small_topic, [0])
    assert [(r.offset, r.value) for r in stored] == [(0, b"small after refusal")]
    stored = consume_partitions(broker.bootstrap, other_topic, [0])
    assert [(r.offset, r.value) for r in stored] == [(0, b"y" * 5000)]
