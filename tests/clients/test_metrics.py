"""GET /metrics after real-client traffic, parsed with Prometheus' own text-format parser.

Proves: the output is valid exposition text (prometheus_client parses every family); after
confluent-kafka produces a known number of records and a subscribed group consumes them all and
commits part, the topic's produce and fetch record counters are exactly what was sent and read,
the produce and fetch byte counters equal the bytes the partitions' logs hold (batches are
written and served as received), and the group's lag per partition is exactly produced minus
committed.
"""

from __future__ import annotations

import time
import urllib.request

from confluent_kafka import Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from librdkafka_client import assert_all_delivered, create_topic, produce_all, producer_config
from librdkafka_group import group_consumer

TOPIC = "metrics-orders"
GROUP = "metrics-billing"
PER_PARTITION = {0: 30, 1: 20}
COMMITTED = {0: 10, 1: 20}
VALUE_BYTES = 100
CONSUME_TIMEOUT_S = 60.0


def scrape(broker) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, keyed by (sample name, labels)."""
    with urllib.request.urlopen(f"{broker.http_url}/metrics", timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"{key} twice"
            samples[key] = s.value
    return samples


def labels(**kv: object) -> frozenset:
    return frozenset((k, str(v)) for k, v in kv.items())


def test_metrics_count_produce_fetch_and_lag_of_real_clients_exactly(broker):
    create_topic(broker.bootstrap, TOPIC, partitions=len(PER_PARTITION))
    producer = Producer(producer_config(broker.bootstrap))
    messages = [
        {"value": f"{p}-{i:04d}".encode().ljust(VALUE_BYTES, b"."), "partition": p}
        for p, n in PER_PARTITION.items()
        for i in range(n)
    ]
    assert_all_delivered(produce_all(producer, TOPIC, messages))
    produced = sum(PER_PARTITION.values())

    consumer = group_consumer(broker.bootstrap, GROUP)
    try:
        consumer.subscribe([TOPIC])
        read = 0
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while read < produced:
            assert time.monotonic() < deadline, f"read {read} of {produced}"
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                assert msg.error() is None, msg.error()
                read += 1
        assert read == produced
        consumer.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in COMMITTED.items()], asynchronous=False)
    finally:
        consumer.close()

    m = scrape(broker)
    topic = labels(topic=TOPIC)
    assert m[("wharf_produce_records_total", topic)] == produced
    assert m[("wharf_fetch_records_total", topic)] == produced
    assert m[("wharf_backlog_rejections_total", topic)] == 0
    log_bytes = sum(m[("wharf_log_size_bytes", labels(topic=TOPIC, partition=p))] for p in PER_PARTITION)
    assert log_bytes > produced * VALUE_BYTES, "values plus batch and record framing"
    assert m[("wharf_produce_bytes_total", topic)] == log_bytes
    assert m[("wharf_fetch_bytes_total", topic)] == log_bytes, "every batch fetched once"
    for p, n in PER_PARTITION.items():
        assert m[("wharf_log_high_watermark", labels(topic=TOPIC, partition=p))] == n
        lag = m[("wharf_consumer_group_lag", labels(group=GROUP, topic=TOPIC, partition=p))]
        assert lag == n - COMMITTED[p], f"partition {p}"
    produce_count = m[("wharf_request_duration_seconds_count", labels(api="Produce"))]
    assert produce_count >= 1
    assert m[("wharf_request_duration_seconds_bucket", labels(api="Produce", le="+Inf"))] == produce_count
