"""Every compression codec, written by two librdkafka generations.

Proves: batches compressed with none, gzip, snappy, lz4 and zstd are stored and served so that
consumers get back byte-exact values (including incompressible and empty ones) at contiguous
offsets, whether produced by confluent-kafka's current librdkafka or by kcat's 2.0.2.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from confluent_kafka import Producer

from kcat_runner import run_kcat
from librdkafka_client import (
    assert_all_delivered,
    assert_contiguous_per_partition,
    consume_partitions,
    create_topic,
    produce_all,
    producer_config,
)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
COUNT = 2_000


def values(codec: str) -> list[bytes]:
    """Compressible text, incompressible random bytes, and the empty value, deterministically."""
    rng = random.Random(codec)
    out = []
    for i in range(COUNT):
        if i % 3 == 0:
            out.append((f"{codec} record {i} " * (1 + i % 40)).encode())
        elif i % 3 == 1:
            out.append(rng.randbytes(1 + i % 700))
        else:
            out.append(b"" if i % 30 == 2 else hashlib.sha256(str(i).encode()).hexdigest().encode())
    return out


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_codec_roundtrip_byte_exact(broker, codec):
    topic = f"codec-{codec}"
    create_topic(broker.bootstrap, topic, partitions=1)
    sent = values(codec)

    # A longer linger makes multi-record batches, which is where codecs matter.
    producer = Producer(producer_config(broker.bootstrap, **{"compression.type": codec, "linger.ms": 50}))
    reports = produce_all(producer, topic, ({"key": str(i).encode(), "value": v} for i, v in enumerate(sent)))
    assert_all_delivered(reports)

    records = consume_partitions(broker.bootstrap, topic, [0])

    assert_contiguous_per_partition(records)
    assert [r.key for r in records] == [str(i).encode() for i in range(COUNT)]
    assert [r.value for r in records] == sent


@pytest.mark.parametrize("codec", CODECS)
def test_kcat_codec_roundtrip_byte_exact(broker, codec):
    topic = f"kcat-codec-{codec}"
    # kcat splits input on newlines, so its values are hex text; still a mix of lengths and content.
    sent = [v.hex() for v in values(codec)[:500] if v]
    run_kcat(
        broker.bootstrap,
        ["-P", "-t", topic, "-p", "0", "-z", codec, "-X", "linger.ms=50"],
        input=("\n".join(sent) + "\n").encode(),
    )

    out = run_kcat(broker.bootstrap, ["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o %s\n"])

    rows = [line.split(" ", 1) for line in out.stdout.decode().splitlines()]
    assert [int(o) for o, _ in rows] == list(range(len(sent)))
    assert [v for _, v in rows] == sent
