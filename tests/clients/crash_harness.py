"""Crash harness (issue #6): kill -9 the real broker again and again under mixed load, restart it,
and check what it promised.

Each cycle, against one data dir that lives through every cycle:
- an idempotent confluent-kafka producer (acks=all) writes sequence-numbered records to two
  partitions of `harness` (64 kB segments, so kills land during segment rolls);
- a plain producer (acks=all, idempotence off) writes to `harness-ret` (64 kB segments,
  retention.bytes 256 kB, retention checked every 100 ms, so kills land during retention);
- the plain producer also writes keyed records (50 keys) to `harness-cmp`, compacted
  (cleanup.policy=compact, 16 kB segments, the cleaner looking every 50 ms), so kills land during
  compaction passes and their segment swaps;
- a consumer in group `harness-g` reads `harness` and commits synchronously every 50 ms;
- at a random moment 0.3–1.5 s in, the broker gets SIGKILL and is restarted (timed).

Checked after every restart (a violation is counted and printed, and the run goes on):
- `harness`: every acknowledged record is present at its acknowledged offset, no record appears
  twice (idempotence) and each partition's sequence numbers only increase (order);
- `harness-ret`: offsets contiguous from the log start, the log start never moves back, every
  acknowledged record at or after the log start is present at its offset;
- `harness-cmp`: offsets ascend, every record read is the one acknowledged at that offset, and
  for every key its newest acknowledged record is present at its offset or a newer record of
  the key is (compaction may only remove what a newer record of the same key supersedes);
- `harness-g`: the committed offset of each partition is at least the last commit acknowledged
  before the kill and never goes backwards;
- restart (SIGKILL to listening again) takes less than RESTART_BOUND_S.

    WHARF_BIN=target/ci/wharf .venv/bin/python tests/clients/crash_harness.py --cycles 200
    (--seed N replays a run; exits 1 if any violation was found)
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from broker_process import BrokerProcess, wharf_binary
from librdkafka_client import Delivery, base_config, consume_partitions, create_topic, producer_config

RESTART_BOUND_S = 10.0
TOPIC, RET_TOPIC, CMP_TOPIC, GROUP = "harness", "harness-ret", "harness-cmp", "harness-g"
CMP_KEYS = 50
PARTITIONS = 2


class Load:
    """One cycle's producers and committing consumer, each on its own thread."""

    def __init__(self, bootstrap: str, cycle: int, first_seq: int):
        self.cycle, self.seq = cycle, first_seq
        common = {"linger.ms": 5, "message.timeout.ms": 30_000, "reconnect.backoff.max.ms": 200}
        self.idem = Producer(producer_config(bootstrap, **common, **{"enable.idempotence": True}))
        self.plain = Producer(producer_config(bootstrap, **common))
        self.idem_reports: list[Delivery] = []
        self.plain_reports: list[Delivery] = []
        self.cmp_reports: list[Delivery] = []
        config = base_config(bootstrap)
        config.update({"group.id": GROUP, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                       "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
        self.consumer = Consumer(config)
        self.acked_commits: dict[int, int] = {}
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._produce, daemon=True),
                        threading.Thread(target=self._consume, daemon=True)]

    def _report(self, into: list[Delivery]):
        return lambda err, msg: into.append(Delivery(msg.key(), msg.value(), msg.partition(), msg.offset(), err))

    def _produce(self):
        while not self.stop.is_set():
            for _ in range(20):
                value = f"c{self.cycle:03d}-s{self.seq:09d}".encode()
                try:
                    self.idem.produce(TOPIC, value=value, partition=self.seq % PARTITIONS,
                                      on_delivery=self._report(self.idem_reports))
                    self.plain.produce(RET_TOPIC, value=value + b"-" + b"r" * 200, partition=0,
                                       on_delivery=self._report(self.plain_reports))
                    self.plain.produce(CMP_TOPIC, key=f"k{self.seq % CMP_KEYS:02d}".encode(), value=value,
                                       partition=0, on_delivery=self._report(self.cmp_reports))
                except BufferError:
                    break
                self.seq += 1
            self.idem.poll(0.005)
            self.plain.poll(0.005)

    def _consume(self):
        self.consumer.subscribe([TOPIC])
        last_commit = time.monotonic()
        while not self.stop.is_set():
            self.consumer.poll(0.05)
            if time.monotonic() - last_commit < 0.05:
                continue
            last_commit = time.monotonic()
            try:
                committed = self.consumer.commit(asynchronous=False)
            except KafkaException:
                continue  # nothing new, or the broker is down: only acknowledged commits count
            for tp in committed or []:
                if tp.error is None and tp.offset >= 0:
                    self.acked_commits[tp.partition] = max(self.acked_commits.get(tp.partition, -1), tp.offset)

    def start(self):
        for t in self.threads:
            t.start()

    def stop_and_drain(self) -> int:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=20)
        unresolved = self.idem.flush(40) + self.plain.flush(40)
        self.consumer.close()
        return unresolved


def committed_offsets(bootstrap: str) -> dict[int, int]:
    config = base_config(bootstrap)
    config.update({"group.id": GROUP, "enable.auto.commit": False})
    c = Consumer(config)
    try:
        tps = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=30)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def check_compacted(bootstrap: str, acked: dict[int, tuple[bytes, bytes]], violation) -> None:
    records = consume_partitions(bootstrap, CMP_TOPIC, [0], timeout=60)
    offsets = [r.offset for r in records]
    if offsets != sorted(set(offsets)):
        violation(f"{CMP_TOPIC} offsets do not ascend")
    wrong = [r.offset for r in records if r.offset in acked and acked[r.offset] != (r.key, r.value)]
    if wrong:
        violation(f"{len(wrong)} records of {CMP_TOPIC} differ from what was acknowledged there")
    newest_present: dict[bytes, int] = {}
    for r in records:
        newest_present[r.key] = max(newest_present.get(r.key, -1), r.offset)
    newest_acked: dict[bytes, int] = {}
    for offset, (key, _) in acked.items():
        newest_acked[key] = max(newest_acked.get(key, -1), offset)
    present = set(offsets)
    lost = [k for k, o in newest_acked.items() if o not in present and newest_present.get(k, -1) <= o]
    if lost:
        violation(f"{CMP_TOPIC}: the newest acknowledged record of {len(lost)} keys is gone with nothing newer")


def run(cycles: int, seed: int, binary: Path, workdir: Path) -> int:
    rng = random.Random(seed)
    broker = BrokerProcess(binary, workdir / "data", workdir / "wharf.log",
                           ["--retention-check-interval-ms", "100", "--log-cleaner-backoff-ms", "50"]).start()
    create_topic(broker.bootstrap, TOPIC, PARTITIONS, {"segment.bytes": "65536"})
    create_topic(broker.bootstrap, RET_TOPIC, 1, {"segment.bytes": "65536", "retention.bytes": "262144"})
    create_topic(broker.bootstrap, CMP_TOPIC, 1, {"cleanup.policy": "compact", "segment.bytes": "16384",
                                                  "min.cleanable.dirty.ratio": "0.01"})
    cmp_acked: dict[int, tuple[bytes, bytes]] = {}   # harness-cmp: offset -> (key, value)
    acked: dict[bytes, tuple[int, int]] = {}        # harness: value -> (partition, offset)
    ret_acked: dict[bytes, int] = {}                 # harness-ret: value -> offset
    commits = {p: -1 for p in range(PARTITIONS)}     # highest acknowledged commit per partition
    ret_start = 0
    violations: list[str] = []
    restart_max = 0.0
    seq = 0

    def violation(cycle: int, what: str):
        violations.append(f"cycle {cycle}: {what}")
        print(f"VIOLATION cycle {cycle}: {what}", flush=True)

    for cycle in range(cycles):
        load = Load(broker.bootstrap, cycle, seq)
        load.start()
        time.sleep(rng.uniform(0.3, 1.5))
        broker.kill9()
        killed = time.monotonic()
        broker.start()
        restart_s = time.monotonic() - killed
        restart_max = max(restart_max, restart_s)
        if restart_s > RESTART_BOUND_S:
            violation(cycle, f"restart took {restart_s:.1f} s")
        unresolved = load.stop_and_drain()
        seq = load.seq
        if unresolved:
            violation(cycle, f"{unresolved} records neither acknowledged nor failed")
        for r in load.idem_reports:
            if r.error is None:
                acked[r.value] = (r.partition, r.offset)
        for r in load.plain_reports:
            if r.error is None:
                ret_acked[r.value] = r.offset
        for r in load.cmp_reports:
            if r.error is None:
                cmp_acked[r.offset] = (r.key, r.value)
        for p, o in load.acked_commits.items():
            commits[p] = max(commits[p], o)

        records = consume_partitions(broker.bootstrap, TOPIC, list(range(PARTITIONS)), timeout=60)
        at = {(r.partition, r.offset): r.value for r in records}
        values = [r.value for r in records]
        if len(values) != len(set(values)):
            violation(cycle, f"{len(values) - len(set(values))} duplicate records in {TOPIC}")
        for p in range(PARTITIONS):
            seqs = [int(r.value.split(b"-s")[1]) for r in records if r.partition == p]
            if seqs != sorted(seqs):
                violation(cycle, f"{TOPIC}-{p} out of order")
        missing = [v for v, po in acked.items() if at.get(po) != v]
        if missing:
            violation(cycle, f"{len(missing)} acknowledged records of {TOPIC} missing or moved")

        ret = consume_partitions(broker.bootstrap, RET_TOPIC, [0], timeout=60)
        start = ret[0].offset if ret else ret_start
        if start < ret_start:
            violation(cycle, f"{RET_TOPIC} log start went back from {ret_start} to {start}")
        ret_start = max(ret_start, start)
        if [r.offset for r in ret] != list(range(start, start + len(ret))):
            violation(cycle, f"{RET_TOPIC} offsets not contiguous")
        ret_at = {r.offset: r.value for r in ret}
        lost = [v for v, o in ret_acked.items() if o >= start and ret_at.get(o) != v]
        if lost:
            violation(cycle, f"{len(lost)} acknowledged records of {RET_TOPIC} missing after the log start")

        check_compacted(broker.bootstrap, cmp_acked, lambda what: violation(cycle, what))

        now = committed_offsets(broker.bootstrap)
        for p in range(PARTITIONS):
            if now.get(p, -1001) < commits[p]:
                violation(cycle, f"committed offset of {TOPIC}-{p} is {now.get(p)} < acknowledged {commits[p]}")
            commits[p] = max(commits[p], now.get(p, -1))
        print(f"cycle {cycle:3d}: {len(acked)} acked in {TOPIC}, log {len(records)}; {RET_TOPIC} start {ret_start}; "
              f"{len(cmp_acked)} acked in {CMP_TOPIC}; "
              f"commits {commits}; restart {restart_s:.2f} s", flush=True)

    broker.stop()
    print(f"{cycles} cycles, {len(violations)} violations; seed {seed}; longest restart {restart_max:.2f} s; "
          f"{len(acked)} acknowledged idempotent records, {len(ret_acked)} plain")
    return len(violations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=random.randrange(2**32))
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    # librdkafka reports every refused reconnect while the broker is down; that is expected here.
    logging.getLogger("librdkafka").setLevel(logging.CRITICAL)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wharf-crash-"))
    print(f"seed {args.seed}, data under {workdir}", flush=True)
    return 1 if run(args.cycles, args.seed, wharf_binary(), workdir) else 0


if __name__ == "__main__":
    sys.exit(main())
