"""Does compaction stall produce? Keyed produce throughput into a compacted topic, with the cleaner
compacting it while the producer runs, against the same produce into a delete-policy topic, in the
same run with alternating order; then the cleaner's own figures from the broker log.

    target/ci/wharf serve --listen 127.0.0.1:39560 --data-dir /tmp/compaction-bench \\
        --log-cleaner-backoff-ms 100 2> /tmp/compaction-bench.log &
    .venv/bin/python benchmarks/compaction.py 127.0.0.1:39560 /tmp/compaction-bench.log 3

Each round produces UPDATES keyed records (KEYS distinct keys, 100-byte values, acks=all) to a
fresh topic of each kind with 8 MiB segments, so segments roll and the cleaner runs passes during
the produce. Prints msgs/s per topic and the ratio, then every "compacted partition" line's pass
time and the time the partition lock was held (locked_us).
"""

from __future__ import annotations

import re
import statistics
import sys
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

UPDATES = 2_000_000
KEYS = 10_000
VALUE = b"v" * 100


def create(admin: AdminClient, name: str, policy: str) -> None:
    config = {"cleanup.policy": policy, "segment.bytes": str(8 << 20)}
    admin.create_topics([NewTopic(name, 1, 1, config=config)])[name].result(10)
    time.sleep(0.2)


def produce(bootstrap: str, topic: str) -> float:
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
        "batch.size": 1_000_000, "queue.buffering.max.messages": 1_000_000,
    })
    keys = [f"key-{k:05d}".encode() for k in range(KEYS)]
    start = time.monotonic()
    for i in range(UPDATES):
        while True:
            try:
                producer.produce(topic, key=keys[i % KEYS], value=VALUE, partition=0)
                break
            except BufferError:
                producer.poll(0.01)
    assert producer.flush(120) == 0
    return UPDATES / (time.monotonic() - start)


def main() -> None:
    bootstrap, broker_log, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    ratios = []
    for r in range(rounds):
        run = uuid.uuid4().hex[:6]
        results = {}
        order = ["compact", "delete"] if r % 2 == 0 else ["delete", "compact"]
        for policy in order:
            topic = f"bench-{policy}-{run}"
            create(admin, topic, policy)
            results[policy] = produce(bootstrap, topic)
        ratio = results["compact"] / results["delete"]
        ratios.append(ratio)
        print(f"round {r + 1}: delete {results['delete']:,.0f} msgs/s, compact {results['compact']:,.0f} msgs/s, "
              f"compact/delete {ratio:.3f}")
    print(f"median compact/delete {statistics.median(ratios):.3f}")
    time.sleep(2)
    pattern = re.compile(r"compacted partition.*topic=(\S+).*bytes_read=(\d+).*bytes_written=(\d+)"
                         r".*records_read=(\d+) records_kept=(\d+).*ms=(\d+) locked_us=(\d+)")
    lines = (re.sub(r"\x1b\[[0-9;]*m", "", line) for line in open(broker_log))
    passes = [m.groups() for m in map(pattern.search, lines) if m and m.group(1).startswith("bench-")]
    for topic, b_read, b_written, r_read, r_kept, ms, locked in passes:
        print(f"pass {topic}: read {int(b_read) / 1e6:.1f} MB / {r_read} records, kept {r_kept}, "
              f"wrote {int(b_written) / 1e6:.2f} MB, {ms} ms, lock held {int(locked) / 1000:.2f} ms")
    if passes:
        locked = [int(p[6]) for p in passes]
        total = [int(p[5]) for p in passes]
        print(f"{len(passes)} passes: pass time median {statistics.median(total)} ms, "
              f"lock held median {statistics.median(locked) / 1000:.2f} ms, max {max(locked) / 1000:.2f} ms")


if __name__ == "__main__":
    main()
