"""kafka-python 3.x (a pure-Python client with its own protocol code) against Wharf.

Proves: KafkaAdminClient.create_topics creates a topic with partitions and configs (and a second
create raises TopicAlreadyExistsError); KafkaProducer with acks='all' and idempotence off delivers
10,000 records; a KafkaConsumer without a group, using assign() and seek_to_beginning(), reads back
exactly those records, in order, at the offsets the producer was told.
"""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

COUNT = 10_000
PARTITIONS = 2
TOPIC = "kafka-python"


def test_kafka_python_admin_produce_assign_consume_exact(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="wharf-test-admin")
    try:
        spec = {TOPIC: {"num_partitions": PARTITIONS, "replication_factor": 1, "configs": {"retention.ms": "600000"}}}
        admin.create_topics(spec, wait_for_metadata=True)
        assert TOPIC in admin.list_topics()
        [described] = admin.describe_topics([TOPIC])
        assert sorted(p["partition_index"] for p in described["partitions"]) == list(range(PARTITIONS))
        with pytest.raises(TopicAlreadyExistsError):
            admin.create_topics(spec)
    finally:
        admin.close()

    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False, linger_ms=5, retries=5
    )
    try:
        futures = [
            producer.send(
                TOPIC,
                key=f"k{i}".encode(),
                value=f"value-{i}".encode(),
                headers=[("n", str(i).encode())],
                partition=i % PARTITIONS,
            )
            for i in range(COUNT)
        ]
        producer.flush(timeout=60)
        acked = [f.get(timeout=30) for f in futures]
    finally:
        producer.close(timeout=10)
    for i, meta in enumerate(acked):
        assert (meta.partition, meta.offset) == (i % PARTITIONS, i // PARTITIONS), f"record {i} landed at {meta}"

    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=200
    )
    try:
        partitions = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        got = []
        deadline = time.monotonic() + 60
        while len(got) < COUNT and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=2000).values():
                got.extend(batch)
        assert len(got) == COUNT, f"consumed {len(got)} of {COUNT}"
        # No extra records are waiting past the ones produced.
        assert consumer.end_offsets(partitions) == {tp: COUNT // PARTITIONS for tp in partitions}
    finally:
        consumer.close()

    for partition in range(PARTITIONS):
        mine = [r for r in got if r.partition == partition]
        assert [r.offset for r in mine] == list(range(COUNT // PARTITIONS))
        numbers = list(range(partition, COUNT, PARTITIONS))
        assert [r.key for r in mine] == [f"k{i}".encode() for i in numbers]
        assert [r.value for r in mine] == [f"value-{i}".encode() for i in numbers]
        assert [list(r.headers) for r in mine] == [[("n", str(i).encode())] for i in numbers]
