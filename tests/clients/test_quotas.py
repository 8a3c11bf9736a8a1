"""Client quotas (KIP-13, KIP-546) with real clients.

Proves: a producer_byte_rate quota of 1 MB/s set with kafka-python's AlterClientQuotas (its own
protocol classes) and read back with DescribeClientQuotas holds a confluent-kafka producer that
tries to send 10 MB/s to 1 MB/s within ±10% over 10 s of steady state, and librdkafka reports the
throttling through its throttle callback. The quota survives a broker restart. A consumer_byte_rate
quota of 1 MB/s holds a consumer reading a 20 MB backlog (in 100 kB fetches) to 1 MB/s within ±15%
over 8 s, again with throttle callbacks.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.protocol.admin.client_quotas import AlterClientQuotasRequest, DescribeClientQuotasRequest

from librdkafka_client import base_config, create_topic, produce_all, producer_config

QUOTA_BYTES_PER_S = 1_000_000
CLIENT_ID = "quota-test"


def send(admin: KafkaAdminClient, request):
    return admin._manager.run(admin._manager.send, request)


def set_producer_quota(bootstrap: str, client_id: str, rate: float, key: str = "producer_byte_rate") -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        entry = AlterClientQuotasRequest.EntryData(
            entity=[AlterClientQuotasRequest.EntryData.EntityData(entity_type="client-id", entity_name=client_id)],
            ops=[AlterClientQuotasRequest.EntryData.OpData(key=key, value=rate, remove=False)],
        )
        response = send(admin, AlterClientQuotasRequest(entries=[entry], validate_only=False))
        assert [e.error_code for e in response.entries] == [0]
    finally:
        admin.close()


def described_quotas(bootstrap: str, client_id: str) -> list[tuple[str, float]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        component = DescribeClientQuotasRequest.ComponentData(entity_type="client-id", match_type=0, match=client_id)
        response = send(admin, DescribeClientQuotasRequest(components=[component], strict=True))
        assert response.error_code == 0
        return [(v.key, v.value) for e in response.entries for v in e.values]
    finally:
        admin.close()


def test_producer_byte_rate_quota_holds_10mb_per_s_producer_to_1mb_per_s(broker):
    topic = "quota-produce"
    create_topic(broker.bootstrap, topic, 1)
    set_producer_quota(broker.bootstrap, CLIENT_ID, QUOTA_BYTES_PER_S)
    assert described_quotas(broker.bootstrap, CLIENT_ID) == [("producer_byte_rate", QUOTA_BYTES_PER_S)]

    throttles: list[int] = []
    delivered: list[tuple[float, int]] = []
    producer = Producer(producer_config(
        broker.bootstrap,
        **{
            "client.id": CLIENT_ID,
            "linger.ms": 5,
            "throttle_cb": lambda event: throttles.append(event.throttle_time),
        },
    ))
    value = b"x" * 10_000

    def on_delivery(err, msg):
        if err is None:
            delivered.append((time.monotonic(), len(msg.value())))

    # Try 10 MB/s: ten 10 kB records every 10 ms, for 10.5 s.
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < 10.5:
        for _ in range(10):
            try:
                producer.produce(topic, value=value, partition=0, on_delivery=on_delivery)
            except BufferError:
                break
        tick += 1
        producer.poll(max(0.0, start + tick * 0.01 - time.monotonic()))
    attempted = tick * 10 * len(value)
    producer.purge()  # what the quota held back is not needed
    producer.flush(30)

    # The first 10 s, from the first record on (the broker gives a new client no burst allowance;
    # see crates/broker/src/quota/rate.rs).
    window = [size for (t, size) in delivered if t < start + 10.0]
    rate = sum(window) / 10.0
    print(f"attempted {attempted / 10.5:.0f} B/s, delivered {rate:.0f} B/s, {len(throttles)} throttle events")
    assert attempted / 10.5 > 5 * QUOTA_BYTES_PER_S, "the producer did try to go much faster"
    assert abs(rate - QUOTA_BYTES_PER_S) <= 0.1 * QUOTA_BYTES_PER_S, f"{rate:.0f} B/s"
    assert throttles and max(throttles) > 0, "librdkafka reported throttling"

    broker.stop()
    broker.start()
    assert described_quotas(broker.bootstrap, CLIENT_ID) == [("producer_byte_rate", QUOTA_BYTES_PER_S)]


def test_consumer_byte_rate_quota_holds_fetches_to_1mb_per_s(broker):
    topic = "quota-fetch"
    create_topic(broker.bootstrap, topic, 1)
    producer = Producer(producer_config(broker.bootstrap))
    produce_all(producer, topic, ({"value": b"y" * 10_000, "partition": 0} for _ in range(2_000)))
    set_producer_quota(broker.bootstrap, "fetch-quota", QUOTA_BYTES_PER_S, key="consumer_byte_rate")

    throttles: list[int] = []
    config = base_config(broker.bootstrap)
    config.update({
        "group.id": "fetch-quota",
        "client.id": "fetch-quota",
        "enable.auto.commit": False,
        "fetch.max.bytes": 100_000,
        "message.max.bytes": 100_000,
        "max.partition.fetch.bytes": 100_000,
        "throttle_cb": lambda event: throttles.append(event.throttle_time),
    })
    consumer = Consumer(config)
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    start = None
    try:
        while start is None or time.monotonic() - start < 8.0:
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                start = start or time.monotonic()
                got += len(msg.value())
    finally:
        consumer.close()
    rate = got / 8.0
    print(f"fetched {rate:.0f} B/s, {len(throttles)} throttle events")
    assert abs(rate - QUOTA_BYTES_PER_S) <= 0.15 * QUOTA_BYTES_PER_S, f"{rate:.0f} B/s"
    assert throttles and max(throttles) > 0
