"""Fetch long polling: a waiting fetch is answered when data arrives, not only at max wait.

Proves: a consumer with fetch.wait.max.ms=500 assigned to an idle topic receives a record produced
while its fetch waits, each time, within 1 s of the produce; prints the median latency (a broker that
only answers at max wait shows about 250 ms on average; one that wakes waiting fetches, a few ms).
"""

from __future__ import annotations

import statistics
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from librdkafka_client import consumer_config, create_topic, producer_config

ROUNDS = 10


def test_long_poll_idle_topic_delivers_new_record_under_1s(broker):
    topic = "long-poll"
    create_topic(broker.bootstrap, topic, partitions=1)
    producer = Producer(producer_config(broker.bootstrap, **{"linger.ms": 0}))
    consumer = Consumer(consumer_config(broker.bootstrap, **{"fetch.wait.max.ms": 500}))
    latencies = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        for i in range(ROUNDS):
            # Let the consumer go idle: its fetch is now parked in the broker.
            deadline = time.monotonic() + 0.3 + 0.05 * i
            while time.monotonic() < deadline:
                msg = consumer.poll(0.05)
                assert msg is None or msg.error() is not None, f"unexpected record {msg.value()!r} while idle"
            sent_at = time.monotonic()
            producer.produce(topic, value=f"ping-{i}".encode(), partition=0)
            producer.poll(0)
            while True:
                msg = consumer.poll(0.01)
                if msg is not None and msg.error() is None:
                    break
                if msg is not None and msg.error().code() != KafkaError._PARTITION_EOF:
                    raise AssertionError(msg.error())
                assert time.monotonic() - sent_at < 5, f"ping-{i} not received within 5s"
            latency = time.monotonic() - sent_at
            assert (msg.offset(), msg.value()) == (i, f"ping-{i}".encode())
            latencies.append(latency)
        assert producer.flush(10) == 0
    finally:
        consumer.close()

    median_ms = statistics.median(latencies) * 1000
    print(f"long poll: produce-to-consume latency median {median_ms:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    assert max(latencies) < 1.0, f"latencies (s): {latencies}"
