"""confluent-kafka consumers in a group, in the test's own process: a subscribed consumer that
tracks its assignment through the rebalance callbacks and keeps what it reads, and a poll loop over
several of them. Subclasses override the callbacks to count revocations or follow incremental
(cooperative) assignments.

Group members that a test must SIGKILL, or that use another client, are child processes instead:
see group_members.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from confluent_kafka import Consumer, KafkaError

from group_members import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS, WAIT_S, is_split
from librdkafka_client import base_config, produce_tagged

# Messages one Member.poll() takes at most; bounds a call while a producer keeps writing.
DRAIN_MAX = 10_000


def group_consumer(bootstrap: str, group: str, **overrides: object) -> Consumer:
    config = base_config(bootstrap)
    config.update({
        "group.id": group,
        "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
    })
    config.update(overrides)
    return Consumer(config)


class Member:
    """A subscribed consumer and what the group has assigned it (tracked through the callbacks)."""

    def __init__(self, bootstrap: str, group: str, topic: str, **overrides: object):
        self.group = group
        self.consumer = group_consumer(bootstrap, group, **overrides)
        self.assigned: set[int] = set()
        self.records: list[tuple[int, int, bytes]] = []
        # Partitions whose end this member has reached (with enable.partition.eof=true): its
        # position there is resolved and nothing older is left to arrive.
        self.at_eof: set[int] = set()
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer, partitions):
        self.assigned = {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        self.assigned = set()

    def poll(self, timeout: float = 0.1) -> None:
        """Waits up to `timeout` for a message, then takes whatever else is already here (up to
        DRAIN_MAX), so members polled in turn each keep up even when only one has records."""
        msg = self.consumer.poll(timeout)
        for _ in range(DRAIN_MAX):
            if msg is None:
                return
            assert msg.error() is None or msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            if msg.error() is None:
                self.records.append((msg.partition(), msg.offset(), msg.value()))
            else:
                self.at_eof.add(msg.partition())
            msg = self.consumer.poll(0)


def poll_until(members: list[Member], done, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: " + ", ".join(
            f"{sorted(m.assigned)}/{len(m.records)}" for m in members
        )
        for m in members:
            m.poll(0.05)


# A group member in a child process, so it can be SIGKILLed: argv = bootstrap, group, topic,
# extra consumer config as JSON.
CRASHING_CONSUMER = """
import json, sys
from confluent_kafka import Consumer
config = {"bootstrap.servers": sys.argv[1], "broker.address.family": "v4", "group.id": sys.argv[2],
          "auto.offset.reset": "earliest"}
config.update(json.loads(sys.argv[4]))
c = Consumer(config)
c.subscribe([sys.argv[3]])
while True:
    c.poll(0.1)
"""


def assert_killed_member_partitions_move(bootstrap: str, topic: str, partitions: int, survivor: Member,
                                         child_config: dict, session_timeout_ms: int) -> None:
    """A member in a child process takes half the partitions and is killed with SIGKILL: it
    never leaves, so only its session timeout can hand its partitions to `survivor` (asserted not
    sooner, with 1.5 s of slack), which then reads records produced to all of them."""
    poll_until([survivor], lambda: len(survivor.assigned) == partitions, "survivor alone")
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_CONSUMER, bootstrap, survivor.group, topic, json.dumps(child_config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        poll_until([survivor], lambda: len(survivor.assigned) == partitions // 2, "split with the child")
        child.kill()
        child.wait()
        killed_at = time.monotonic()
        poll_until([survivor], lambda: len(survivor.assigned) == partitions, "failover")
        assert time.monotonic() - killed_at >= session_timeout_ms / 1000 - 1.5
        sent = produce_tagged(bootstrap, topic, partitions, 5, "after")
        survivor.records.clear()
        poll_until([survivor], lambda: {v for (_, _, v) in survivor.records} >= sent, "records after failover")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def drain(members: list[Member], rounds: int = 10) -> None:
    """A few more polls: a duplicate would arrive here."""
    for _ in range(rounds):
        for m in members:
            m.poll(0.05)


def assert_split_then_take_over_on_leave(bootstrap: str, topic: str, partitions: int, members: list[Member]) -> None:
    """Three members split `partitions` evenly and read a batch exactly once, each only from its
    own partitions, and commit; the first then close()s (it is popped from `members`) and the other
    two split its partitions too and read the next batch exactly once, resuming from its commits."""
    poll_until(members, lambda: is_split(members, partitions), f"{len(members)} members, even split")
    first = produce_tagged(bootstrap, topic, partitions, 50, "a")
    poll_until(members, lambda: sum(len(m.records) for m in members) >= len(first), "first batch")
    drain(members)
    got = [v for m in members for (_, _, v) in m.records]
    assert len(got) == len(first) and set(got) == first
    for m in members:  # each consumed only its own partitions
        assert {p for (p, _, _) in m.records} == m.assigned
        m.consumer.commit(asynchronous=False)

    leaver = members.pop(0)
    moved = set(leaver.assigned)
    leaver.consumer.close()
    for m in members:
        m.records.clear()
    poll_until(members, lambda: is_split(members, partitions), f"{len(members)} members, even split")
    assert moved <= set().union(*(m.assigned for m in members))
    second = produce_tagged(bootstrap, topic, partitions, 20, "b")
    poll_until(members, lambda: sum(len(m.records) for m in members) >= len(second), "second batch")
    drain(members)
    got = [v for m in members for (_, _, v) in m.records]
    # The committed offsets of the leaver's partitions are where its successors resume.
    assert len(got) == len(second) and set(got) == second

