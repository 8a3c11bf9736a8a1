"""Rebalance time of a 10-member, 100-partition consumer group (classic protocol), with confluent-kafka.

One run: nine consumers subscribe to a 100-partition topic in a fresh group and settle (their
assignments cover the 100 partitions exactly once); then a tenth subscribes. The figure is the
time from that subscribe() call to the moment the last of the ten receives its final assignment
(on_assign), when all ten hold 10 partitions each and together cover all 100 exactly once.

Reference, same run and broker: one consumer joining an empty group alone — the time from
subscribe() to its assignment. That is one client's whole join path (FindCoordinator, JoinGroup
twice for KIP-394's member id, SyncGroup, and the client's own scheduling), with no other member
to wait for: the floor under any rebalance. What a 10-member rebalance adds on top is mostly the
old members noticing it: they learn of it from a heartbeat answer (REBALANCE_IN_PROGRESS), so up to
one heartbeat.interval.ms passes before the last of them rejoins. Both are measured at two
heartbeat intervals to show that, and the part after the last old member was told (its
on_revoke) — the rejoin and sync round, which is what the broker's coordinator decides — is
reported separately.

usage: rebalance.py BOOTSTRAP [RUNS]      (default 7 runs per heartbeat interval)
"""

from __future__ import annotations

import random
import statistics
import sys
import threading
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 100
MEMBERS = 10
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVALS_MS = (500, 3000)
WAIT_S = 60.0


class Member:
    """A subscribed consumer polled on its own thread; records when each assignment arrived."""

    def __init__(self, bootstrap: str, group: str, topic: str, heartbeat_ms: int):
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "broker.address.family": "v4",
            "group.id": group,
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": heartbeat_ms,
            "enable.auto.commit": False,
        })
        self.topic = topic
        self.assigned: frozenset[int] = frozenset()
        self.assigned_at = 0.0
        self.revoked_at = 0.0
        self.subscribed_at = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_assign(self, consumer, partitions):
        self.assigned_at = time.monotonic()
        self.assigned = frozenset(p.partition for p in partitions)

    def _on_revoke(self, consumer, partitions):
        self.revoked_at = time.monotonic()
        self.assigned = frozenset()

    def _run(self) -> None:
        self.subscribed_at = time.monotonic()
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        while not self.stop.is_set():
            self.consumer.poll(0.02)
        self.consumer.close()

    def start(self) -> "Member":
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT_S)


def covers_exactly(members: list[Member]) -> bool:
    """Every partition held by exactly one member, and the shares differ by at most one."""
    sizes = [len(m.assigned) for m in members]
    union = frozenset().union(*(m.assigned for m in members))
    return sum(sizes) == PARTITIONS and union == frozenset(range(PARTITIONS)) and max(sizes) - min(sizes) <= 1


def wait_until(done, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def single_join_s(bootstrap: str, topic: str, heartbeat_ms: int) -> float:
    m = Member(bootstrap, f"rebalance-solo-{uuid.uuid4()}", topic, heartbeat_ms).start()
    try:
        wait_until(lambda: len(m.assigned) == PARTITIONS, "a lone member's assignment")
        return m.assigned_at - m.subscribed_at
    finally:
        m.close()


def tenth_join_s(bootstrap: str, topic: str, heartbeat_ms: int) -> tuple[float, float]:
    """(subscribe -> all ten assigned, last old member told of the rebalance -> all ten assigned)."""
    group = f"rebalance-{uuid.uuid4()}"
    members = [Member(bootstrap, group, topic, heartbeat_ms).start() for _ in range(MEMBERS - 1)]
    try:
        wait_until(lambda: covers_exactly(members), f"{MEMBERS - 1} members to settle")
        # The nine got their assignments together, so their heartbeats are in phase; a random
        # pause makes the tenth arrive at a random point of the heartbeat cycle, as in life.
        time.sleep(random.uniform(0, heartbeat_ms / 1000))
        last = Member(bootstrap, group, topic, heartbeat_ms)
        members.append(last.start())
        wait_until(lambda: covers_exactly(members), f"{MEMBERS} members to settle")
        done = max(m.assigned_at for m in members)
        told = max(m.revoked_at for m in members[:-1])
        return done - last.subscribed_at, done - told
    finally:
        for m in members:
            m.stop.set()
        for m in members:
            m.close()


def summary(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"{name}: median {statistics.median(ms):.0f} ms, range {ms[0]:.0f}-{ms[-1]:.0f} ms over {len(ms)} runs"


def main() -> None:
    bootstrap = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    topic = f"rebalance-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(30)
    print(f"topic {topic}: {PARTITIONS} partitions; {MEMBERS} members; session.timeout.ms={SESSION_TIMEOUT_MS}")
    for heartbeat_ms in HEARTBEAT_INTERVALS_MS:
        solo = [single_join_s(bootstrap, topic, heartbeat_ms) for _ in range(runs)]
        tenth = [tenth_join_s(bootstrap, topic, heartbeat_ms) for _ in range(runs)]
        total, after_told = [t for t, _ in tenth], [a for _, a in tenth]
        print(f"heartbeat.interval.ms={heartbeat_ms}")
        print("  " + summary("reference: one member joining an empty group", solo))
        print("  " + summary(f"rebalance, {MEMBERS}th subscribe -> all {MEMBERS} assigned", total))
        print("  " + summary("  of which after the last old member was told (rejoin + sync)", after_told))
        print("  runs (ms): " + ", ".join(f"{t * 1000:.0f} ({a * 1000:.0f})" for t, a in tenth))


if __name__ == "__main__":
    main()
