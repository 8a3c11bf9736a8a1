"""Transactions (KIP-98) with real clients: visibility, atomic offsets, fencing, timeouts, restarts.

confluent-kafka (librdkafka) and kafka-python 3 producers with a transactional.id against the real
broker. Every check reads the partition back with exact values: read_committed consumers must
see committed transactions whole and aborted ones never (read_uncommitted sees both, without the
control records); a consume-transform-produce loop's input offsets move exactly when its output
commits; a second producer with the same transactional.id fences the first; a transaction left
open past its timeout is aborted by the broker; and a broker killed with kill -9 while a
transaction is open comes back with it still invisible until it is aborted.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from librdkafka_client import (
    admin_client,
    committed_offsets,
    consume_partitions,
    consumer_config,
    create_topic,
    producer_config,
)

# The broker's cap on transaction.timeout.ms for these tests (Kafka's transaction.max.timeout.ms).
MAX_TIMEOUT_MS = 10_000
TXN_ARGS = ("--transaction-max-timeout-ms", str(MAX_TIMEOUT_MS))


def txn_producer(bootstrap: str, transactional_id: str, timeout_ms: int = MAX_TIMEOUT_MS) -> Producer:
    producer = Producer(
        producer_config(
            bootstrap,
            **{
                "transactional.id": transactional_id,
                "enable.idempotence": True,
                "transaction.timeout.ms": timeout_ms,
                "message.timeout.ms": timeout_ms,
            },
        )
    )
    producer.init_transactions(30)
    return producer


def produce_values(producer: Producer, topic: str, values: list[bytes]) -> None:
    for v in values:
        producer.produce(topic, value=v, partition=0)
    assert producer.flush(30) == 0


def values(bootstrap: str, topic: str, isolation: str, expected: int | None = None) -> list[bytes]:
    records = consume_partitions(bootstrap, topic, [0], expected=expected, **{"isolation.level": isolation})
    return [r.value for r in records]


def tagged(tag: str, n: int) -> list[bytes]:
    return [f"{tag}{i}".encode() for i in range(n)]


def watermarks(bootstrap: str, topic: str, isolation: str) -> tuple[int, int]:
    """(low, high) from ListOffsets; `high` is the last stable offset for read_committed."""
    consumer = Consumer(consumer_config(bootstrap, **{"isolation.level": isolation}))
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    finally:
        consumer.close()


@pytest.mark.wharf_args(*TXN_ARGS)
def test_commit_visible_to_read_committed_abort_only_to_read_uncommitted(broker):
    topic = "txn-visibility"
    create_topic(broker.bootstrap, topic)
    producer = txn_producer(broker.bootstrap, "visibility")

    producer.begin_transaction()
    produce_values(producer, topic, tagged("a", 5))
    producer.abort_transaction(30)

    producer.begin_transaction()
    produce_values(producer, topic, tagged("c", 5))
    producer.commit_transaction(30)

    # Open and flushed (in the log) but not committed: invisible to read_committed, and the last
    # stable offset stops at its first record: 5 aborted + marker + 5 committed + marker = 12.
    producer.begin_transaction()
    produce_values(producer, topic, tagged("o", 3))
    assert values(broker.bootstrap, topic, "read_committed") == tagged("c", 5)
    assert watermarks(broker.bootstrap, topic, "read_committed") == (0, 12)
    assert watermarks(broker.bootstrap, topic, "read_uncommitted") == (0, 15)
    assert values(broker.bootstrap, topic, "read_uncommitted") == tagged("a", 5) + tagged("c", 5) + tagged("o", 3)

    producer.commit_transaction(30)
    assert values(broker.bootstrap, topic, "read_committed") == tagged("c", 5) + tagged("o", 3)
    assert watermarks(broker.bootstrap, topic, "read_committed") == (0, 16)


@pytest.mark.wharf_args(*TXN_ARGS)
def test_send_offsets_to_transaction_moves_group_offset_only_on_commit(broker):
    source, sink, group = "ctp-in", "ctp-out", "ctp-group"
    create_topic(broker.bootstrap, source)
    create_topic(broker.bootstrap, sink)
    plain = Producer(producer_config(broker.bootstrap))
    produce_values(plain, source, tagged("in", 6))
    admin = admin_client(broker.bootstrap)
    consumer = Consumer(
        consumer_config(broker.bootstrap, **{"group.id": group, "isolation.level": "read_committed"})
    )
    consumer.assign([TopicPartition(source, 0, OFFSET_BEGINNING)])
    producer = txn_producer(broker.bootstrap, "ctp")

    def transform(n: int, commit: bool) -> None:
        got = []
        while len(got) < n:
            got += [m for m in consumer.consume(n - len(got), timeout=1) if m.error() is None]
        producer.begin_transaction()
        produce_values(producer, sink, [b"out-" + m.value() for m in got])
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)

    try:
        transform(4, commit=True)
        assert committed_offsets(admin, group, source, 1) == {0: 4}
        assert values(broker.bootstrap, sink, "read_committed") == [b"out-in0", b"out-in1", b"out-in2", b"out-in3"]

        transform(2, commit=False)
        assert committed_offsets(admin, group, source, 1) == {0: 4}
        assert values(broker.bootstrap, sink, "read_committed") == [b"out-in0", b"out-in1", b"out-in2", b"out-in3"]
    finally:
        consumer.close()


@pytest.mark.wharf_args(*TXN_ARGS)
def test_second_producer_with_same_transactional_id_fences_first(broker):
    topic = "txn-fencing"
    create_topic(broker.bootstrap, topic)
    first = txn_producer(broker.bootstrap, "fenced")
    first.begin_transaction()
    produce_values(first, topic, tagged("zombie", 3))

    # The newer producer's init aborts the older epoch's open transaction and fences it.
    second = txn_producer(broker.bootstrap, "fenced")
    with pytest.raises(KafkaException) as raised:
        first.commit_transaction(30)
    err = raised.value.args[0]
    assert err.fatal(), err
    assert err.code() == KafkaError._FENCED, err

    second.begin_transaction()
    produce_values(second, topic, tagged("live", 2))
    second.commit_transaction(30)
    assert values(broker.bootstrap, topic, "read_committed") == tagged("live", 2)
    assert values(broker.bootstrap, topic, "read_uncommitted") == tagged("zombie", 3) + tagged("live", 2)


@pytest.mark.wharf_args(*TXN_ARGS)
def test_transaction_open_past_its_timeout_is_aborted(broker):
    topic = "txn-timeout"
    create_topic(broker.bootstrap, topic)
    # transaction.max.timeout.ms bounds what a producer may ask for: exactly the cap passes.
    txn_producer(broker.bootstrap, "at-cap", timeout_ms=MAX_TIMEOUT_MS)
    over = Producer(
        producer_config(
            broker.bootstrap,
            **{
                "transactional.id": "over-cap",
                "enable.idempotence": True,
                "transaction.timeout.ms": MAX_TIMEOUT_MS + 1,
                "message.timeout.ms": 5000,
            },
        )
    )
    with pytest.raises(KafkaException) as raised:
        over.init_transactions(30)
    assert raised.value.args[0].code() == KafkaError.INVALID_TRANSACTION_TIMEOUT

    hung = txn_producer(broker.bootstrap, "hung", timeout_ms=2000)
    hung.begin_transaction()
    produce_values(hung, topic, tagged("hung", 3))
    plain = Producer(producer_config(broker.bootstrap))
    produce_values(plain, topic, [b"after"])
    # Offset 3 ("after") stays behind the open transaction until the broker aborts it.
    assert values(broker.bootstrap, topic, "read_committed", expected=1) == [b"after"]
    assert values(broker.bootstrap, topic, "read_uncommitted") == tagged("hung", 3) + [b"after"]
    # The broker bumped the epoch when it aborted: the stalled producer is fenced.
    with pytest.raises(KafkaException):
        hung.commit_transaction(30)


@pytest.mark.wharf_args(*TXN_ARGS)
def test_kafka_python_commit_and_abort(broker):
    topic = "txn-kafka-python"
    create_topic(broker.bootstrap, topic)
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, transactional_id="kp", acks="all", transaction_timeout_ms=MAX_TIMEOUT_MS
    )
    producer.init_transactions()
    producer.begin_transaction()
    for v in tagged("kc", 3):
        producer.send(topic, value=v, partition=0)
    producer.commit_transaction()
    producer.begin_transaction()
    for v in tagged("ka", 2):
        producer.send(topic, value=v, partition=0)
    producer.flush()  # abort_transaction drops what is not sent yet; these must reach the log
    producer.abort_transaction()
    producer.close()

    def read(isolation: str) -> list[bytes]:
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, isolation_level=isolation, consumer_timeout_ms=3000)
        tp = KafkaTopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = [m.value for m in consumer]
        consumer.close()
        return got

    assert read("read_committed") == tagged("kc", 3)
    assert read("read_uncommitted") == tagged("kc", 3) + tagged("ka", 2)
    # librdkafka agrees on the same log.
    assert values(broker.bootstrap, topic, "read_committed") == tagged("kc", 3)


@pytest.mark.wharf_args(*TXN_ARGS)
def test_kill9_mid_transaction_never_half_visible(broker):
    topic = "txn-kill9"
    create_topic(broker.bootstrap, topic)
    committed = txn_producer(broker.bootstrap, "before-crash")
    committed.begin_transaction()
    produce_values(committed, topic, tagged("c", 3))
    committed.commit_transaction(30)

    open_txn = txn_producer(broker.bootstrap, f"open-at-crash-{uuid.uuid4()}", timeout_ms=3000)
    open_txn.begin_transaction()
    produce_values(open_txn, topic, tagged("o", 3))
    broker.kill9()
    broker.start()

    # The committed transaction is whole; the open one is invisible, and once its timeout has
    # aborted it (the transaction log kept its start time) later records get past it.
    plain = Producer(producer_config(broker.bootstrap))
    produce_values(plain, topic, [b"after"])
    assert values(broker.bootstrap, topic, "read_committed", expected=4) == tagged("c", 3) + [b"after"]
    assert values(broker.bootstrap, topic, "read_uncommitted") == tagged("c", 3) + tagged("o", 3) + [b"after"]
