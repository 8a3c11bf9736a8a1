"""Log compaction (cleanup.policy=compact, issue #4) with confluent-kafka against the real broker.

Proves: 1,000,000 updates over 1,000 keys compact to at most 1,000 records outside the active
segment, each key's newest value intact at its original offset; a tombstone stays readable until
delete.retention.ms after the cleaner first kept it, then disappears along with its key; the
internal __consumer_offsets log is compacted too, and the newest commit survives a restart.

The broker's cleaner checkpoint (`cleaner-offset-checkpoint` in the partition directory) reaching
the active segment's base offset is how a test knows a pass has covered everything compactable.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from librdkafka_client import consume_partitions, consumer_config, create_topic, producer_config

KEYS = 1_000
UPDATES = 1_000_000


def segment_bases(partition_dir: Path) -> list[int]:
    return sorted(int(p.name.split(".")[0]) for p in partition_dir.glob("*.log"))


def cleaner_checkpoint(partition_dir: Path) -> int:
    path = partition_dir / "cleaner-offset-checkpoint"
    if not path.exists():
        return -1
    return int(path.read_text().split()[1])


def wait_until_compacted(partition_dir: Path, timeout: float = 120.0) -> int:
    """Waits until the cleaner checkpoint reaches the active segment; returns its base offset."""
    deadline = time.monotonic() + timeout
    while True:
        active_base = segment_bases(partition_dir)[-1]
        if active_base > 0 and cleaner_checkpoint(partition_dir) == active_base:
            return active_base
        assert time.monotonic() < deadline, (
            f"not compacted: checkpoint {cleaner_checkpoint(partition_dir)}, segments {segment_bases(partition_dir)}"
        )
        time.sleep(0.1)


def produce_counted(bootstrap: str, topic: str, messages, **overrides) -> int:
    """Produces (key, value) pairs to partition 0; returns how many failed."""
    failed = 0

    def on_delivery(err, _msg):
        nonlocal failed
        failed += err is not None

    producer = Producer(producer_config(bootstrap, **overrides))
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(120) == 0
    return failed


@pytest.mark.wharf_args("--log-cleaner-backoff-ms", "100")
def test_million_updates_over_thousand_keys_keep_only_each_newest_value(broker):
    topic = "compacted-updates"
    create_topic(broker.bootstrap, topic, config={"cleanup.policy": "compact", "segment.bytes": str(1 << 20)})
    updates = ((f"key-{i % KEYS:04d}".encode(), str(i).encode()) for i in range(UPDATES))
    failed = produce_counted(broker.bootstrap, topic, updates, **{"linger.ms": 20, "batch.num.messages": 10_000})
    assert failed == 0

    partition_dir = broker.data_dir / topic / "0"
    active_base = wait_until_compacted(partition_dir)
    records = consume_partitions(broker.bootstrap, topic, [0])

    compacted = [r for r in records if r.offset < active_base]
    assert len(compacted) <= KEYS, f"{len(compacted)} records outside the active segment"
    assert len({r.key for r in compacted}) == len(compacted), "one record per key outside the active segment"
    # Every record kept its offset (its value is the index it was produced at).
    assert all(r.value == str(r.offset).encode() for r in records)
    newest = {r.key: r.value for r in records}
    assert newest == {f"key-{k:04d}".encode(): str(UPDATES - KEYS + k).encode() for k in range(KEYS)}
    print(
        f"compacted {UPDATES} updates: {len(records)} records readable, {len(compacted)} below the active "
        f"segment at {active_base}, {len(segment_bases(partition_dir))} segments"
    )


DELETE_RETENTION_MS = 3_000


@pytest.mark.wharf_args("--log-cleaner-backoff-ms", "100", "--retention-check-interval-ms", "100")
def test_tombstones_stay_for_delete_retention_then_disappear(broker):
    topic = "compacted-deletes"
    create_topic(broker.bootstrap, topic, config={
        "cleanup.policy": "compact",
        "delete.retention.ms": str(DELETE_RETENTION_MS),
        "segment.ms": "300",
    })
    kept = {f"keep-{i}".encode(): b"v" for i in range(50)}
    deleted = [f"gone-{i}".encode() for i in range(50)]
    assert produce_counted(broker.bootstrap, topic, [*kept.items(), *((k, b"v") for k in deleted)]) == 0
    assert produce_counted(broker.bootstrap, topic, ((k, None) for k in deleted)) == 0
    deleted_at = time.monotonic()

    def state() -> dict[bytes, bytes | None]:
        records = consume_partitions(broker.bootstrap, topic, [0])
        return {r.key: r.value for r in records}, len(records)

    # First pass: the old values of deleted keys are gone, their tombstones remain.
    first = {**kept, **{k: None for k in deleted}}
    deadline = time.monotonic() + 30
    while state() != (first, 100):
        assert time.monotonic() < deadline, f"first pass not seen: {state()[1]} records"
        time.sleep(0.1)
    assert time.monotonic() - deleted_at < DELETE_RETENTION_MS / 1000, "tombstones seen before the horizon"

    # After delete.retention.ms: the tombstones go, and with them every trace of the keys.
    deadline = time.monotonic() + 30
    while state() != (kept, 50):
        assert time.monotonic() < deadline, f"tombstones not removed: {state()[1]} records"
        time.sleep(0.1)
    assert time.monotonic() - deleted_at >= DELETE_RETENTION_MS / 1000


@pytest.mark.wharf_args("--segment-bytes", "65536", "--log-cleaner-backoff-ms", "100")
def test_consumer_offsets_log_is_compacted_and_the_newest_commit_survives_restart(broker):
    topic, group = "offsets-compaction", "committer"
    create_topic(broker.bootstrap, topic)
    consumer = Consumer(consumer_config(broker.bootstrap, **{"group.id": group}))
    commits = 5_000
    for i in range(1, commits + 1):
        consumer.commit(offsets=[TopicPartition(topic, 0, i)], asynchronous=i != commits)
        if i % 500 == 0:
            consumer.poll(0)
    consumer.close()

    offsets_dir = broker.data_dir / "__consumer_offsets" / "0"
    assert len(segment_bases(offsets_dir)) > 2, "commits spread over several segments"
    active_base = wait_until_compacted(offsets_dir)
    compacted_bytes = sum(
        p.stat().st_size for p in offsets_dir.glob("*.log") if int(p.name.split(".")[0]) < active_base
    )
    assert compacted_bytes < 1_000, f"{compacted_bytes} bytes of superseded commits left"

    broker.restart()
    consumer = Consumer(consumer_config(broker.bootstrap, **{"group.id": group}))
    [tp] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
    consumer.close()
    assert tp.offset == commits
