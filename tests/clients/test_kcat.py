"""Debian's kcat 1.7.1 (librdkafka 2.0.2, the oldest client we promise to serve) against Wharf.

Proves: Metadata lists exactly this broker at its bound address and the auto-created topic with
the broker's default partition count; 100,000 keyed messages with headers survive a produce and a
consume byte for byte, each exactly once, in order within its partition, with contiguous offsets.
"""

from __future__ import annotations

import json
import time

import pytest

from kcat_runner import run_kcat

MESSAGE_COUNT = 100_000
PARTITIONS = 3
HEADERS = [("trace", "abc123"), ("origin", "kcat")]


def kcat_metadata(bootstrap: str, topic: str | None = None) -> dict:
    args = ["-L", "-J"] + (["-t", topic] if topic else [])
    return json.loads(run_kcat(bootstrap, args).stdout)


@pytest.mark.wharf_args("--num-partitions", str(PARTITIONS))
def test_kcat_metadata_lists_broker_and_topics(broker):
    # A produce to a missing topic auto-creates it with --num-partitions partitions.
    run_kcat(broker.bootstrap, ["-P", "-t", "listed", "-K:"], input=b"k:v\n")

    meta = kcat_metadata(broker.bootstrap)

    assert [b["name"] for b in meta["brokers"]] == [broker.bootstrap]
    broker_id = meta["brokers"][0]["id"]
    topics = {t["topic"]: t for t in meta["topics"]}
    assert "listed" in topics, f"topics listed: {sorted(topics)}"
    partitions = sorted(topics["listed"]["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in partitions] == list(range(PARTITIONS))
    assert all(p["leader"] == broker_id for p in partitions)
    assert "error" not in topics["listed"], topics["listed"]


@pytest.mark.wharf_args("--num-partitions", str(PARTITIONS))
def test_kcat_produce_consume_100k_keyed_with_headers_exact(broker):
    topic = "kcat-100k"
    lines = "".join(f"key-{i % 997}:value-{i:06d}-{'x' * (i % 50)}\n" for i in range(MESSAGE_COUNT))
    header_args = [arg for name, value in HEADERS for arg in ("-H", f"{name}={value}")]

    before_ms = int(time.time() * 1000)
    produced = run_kcat(
        broker.bootstrap,
        ["-P", "-t", topic, "-K:", *header_args, "-X", "linger.ms=5", "-X", "enable.idempotence=false"],
        input=lines.encode(),
        timeout=120,
    )
    after_ms = int(time.time() * 1000)
    assert b"Delivery failed" not in produced.stderr, produced.stderr.decode()[-2000:]

    consumed = run_kcat(
        broker.bootstrap,
        ["-C", "-t", topic, "-o", "beginning", "-e", "-f", "%p\t%o\t%k\t%s\t%h\t%T\n"],
        timeout=120,
    )
    rows = [line.split("\t") for line in consumed.stdout.decode().splitlines()]
    assert len(rows) == MESSAGE_COUNT, f"consumed {len(rows)} of {MESSAGE_COUNT}"

    expected_headers = ",".join(f"{name}={value}" for name, value in HEADERS)
    seen: dict[int, tuple[int, str]] = {}
    partition_of_key: dict[str, int] = {}
    offsets_by_partition: dict[int, list[int]] = {}
    sequence_by_partition: dict[int, list[int]] = {}
    for partition_s, offset_s, key, value, headers, ts_s in rows:
        partition, offset, ts = int(partition_s), int(offset_s), int(ts_s)
        seq = int(value.split("-")[1])
        assert seq not in seen, f"sequence {seq} consumed twice: {seen[seq]} and {(partition, offset)}"
        seen[seq] = (partition, offset)
        assert key == f"key-{seq % 997}"
        assert value == f"value-{seq:06d}-{'x' * (seq % 50)}"
        assert headers == expected_headers
        assert before_ms - 1000 <= ts <= after_ms + 1000, f"timestamp {ts} outside the produce window"
        assert partition_of_key.setdefault(key, partition) == partition, f"key {key} in two partitions"
        offsets_by_partition.setdefault(partition, []).append(offset)
        sequence_by_partition.setdefault(partition, []).append(seq)

    assert set(seen) == set(range(MESSAGE_COUNT))
    assert set(offsets_by_partition) <= set(range(PARTITIONS))
    for partition, offsets in offsets_by_partition.items():
        assert offsets == list(range(len(offsets))), f"partition {partition}: offsets not 0..n-1 in order"
        sequence = sequence_by_partition[partition]
        assert sequence == sorted(sequence), f"partition {partition}: records out of produce order"
