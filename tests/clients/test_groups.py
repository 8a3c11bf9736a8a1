"""Consumer groups (classic protocol) with real clients: subscribe(), rebalances, commits, restarts.

Proves: three confluent-kafka consumers in one group split a 6-partition topic two partitions each
(every partition exactly once) and together read every record exactly once; when one leaves with
close() the other two take over its partitions and resume from its committed offsets with no record
lost or repeated; committed offsets survive a broker restart (SIGTERM and SIGKILL) and a new
consumer resumes exactly after the last commit; four groups on one topic each receive every record,
and of two groups joining later, the one at auto.offset.reset=latest receives exactly the records
produced after it joined while the one at earliest receives everything;
kafka-python's KafkaConsumer with a group_id subscribes, consumes, commits and resumes; a static
member (KIP-345) that restarts gets its partitions back with no rebalance; a consumer killed with
SIGKILL is expired after its session timeout and its partitions move to the survivor; with
cooperative-sticky (KIP-429) a second member takes only the partitions that move.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import TopicPartition
from kafka import KafkaConsumer
from kafka import TopicPartition as KpTopicPartition

from group_members import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS, WAIT_S, is_split
from librdkafka_client import create_topic, produce_tagged
from librdkafka_group import (
    Member,
    assert_killed_member_partitions_move,
    assert_split_then_take_over_on_leave,
    group_consumer,
    poll_until,
)


def test_three_consumers_split_partitions_and_take_over_on_leave(broker):
    topic, group, partitions = "groups-split", f"g-{uuid.uuid4()}", 6
    create_topic(broker.bootstrap, topic, partitions)
    members = [Member(broker.bootstrap, group, topic) for _ in range(3)]
    try:
        assert_split_then_take_over_on_leave(broker.bootstrap, topic, partitions, members)
    finally:
        for m in members:
            m.consumer.close()


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_committed_offsets_survive_restart(broker, how):
    topic, group = f"groups-restart-{how}", f"g-{uuid.uuid4()}"
    create_topic(broker.bootstrap, topic, 1)
    produce_tagged(broker.bootstrap, topic, 1, 100, "r")
    c = group_consumer(broker.bootstrap, group)
    c.subscribe([topic])
    seen = []
    deadline = time.monotonic() + WAIT_S
    while len(seen) < 40:
        assert time.monotonic() < deadline, f"consumed only {len(seen)}"
        msg = c.poll(0.1)
        if msg is not None and msg.error() is None:
            seen.append(msg.offset())
    last = seen[39]
    c.commit(offsets=[TopicPartition(topic, 0, last + 1)], asynchronous=False)
    [committed] = c.committed([TopicPartition(topic, 0)], timeout=10)
    assert committed.offset == last + 1
    c.close()
    if how == "sigkill":
        broker.kill9()
    else:
        assert broker.stop() == 0
    broker.start()

    c = group_consumer(broker.bootstrap, group)
    try:
        [committed] = c.committed([TopicPartition(topic, 0)], timeout=30)
        assert committed.offset == last + 1
        c.subscribe([topic])
        deadline = time.monotonic() + WAIT_S
        while True:
            assert time.monotonic() < deadline, "no record after restart"
            msg = c.poll(0.1)
            if msg is not None and msg.error() is None:
                assert msg.offset() == last + 1
                break
    finally:
        c.close()


def test_four_groups_each_receive_every_record_and_late_groups_start_as_configured(broker):
    topic, partitions = "groups-fanout", 3
    create_topic(broker.bootstrap, topic, partitions)
    sent = produce_tagged(broker.bootstrap, topic, partitions, 40, "f")
    members = [Member(broker.bootstrap, f"fan-{i}-{uuid.uuid4()}", topic) for i in range(4)]
    try:
        poll_until(members, lambda: all(len(m.records) >= len(sent) for m in members), "every group")
        for m in members:
            values = [v for (_, _, v) in m.records]
            assert len(values) == len(sent) and set(values) == sent

        # Two more groups join later, one at each auto.offset.reset. The `latest` one has joined
        # once it has reached the end of every partition (its position is resolved, at the log
        # end); only then is the next batch produced.
        latest = Member(
            broker.bootstrap,
            f"late-latest-{uuid.uuid4()}",
            topic,
            **{"auto.offset.reset": "latest", "enable.partition.eof": True},
        )
        earliest = Member(broker.bootstrap, f"late-earliest-{uuid.uuid4()}", topic, **{"auto.offset.reset": "earliest"})
        members += [latest, earliest]
        poll_until(members, lambda: latest.at_eof == set(range(partitions)), "the late `latest` group at the log end")
        assert latest.records == []
        more = produce_tagged(broker.bootstrap, topic, partitions, 10, "g")
        everything = sent | more
        def has_new_batch() -> bool:
            early = [m for m in members if m is not latest]
            return len(latest.records) >= len(more) and all(len(m.records) >= len(everything) for m in early)

        poll_until(members, has_new_batch, "the batch after the late groups joined")
        for _ in range(10):  # anything more would be a duplicate
            for m in members:
                m.poll(0.05)
        for m in members:
            want = more if m is latest else everything
            values = [v for (_, _, v) in m.records]
            assert len(values) == len(want) and set(values) == want
    finally:
        for m in members:
            m.consumer.close()


def test_kafka_python_group_subscribe_consume_commit_resume(broker):
    topic, group = "groups-kafka-python", f"kp-{uuid.uuid4()}"
    create_topic(broker.bootstrap, topic, 2)
    sent = produce_tagged(broker.bootstrap, topic, 2, 30, "k")

    def consumer() -> KafkaConsumer:
        return KafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            fetch_max_wait_ms=100,
        )

    c = consumer()
    got = []
    # Polls are long: kafka-python 3.0.12 can lose a join when a poll times out mid-join (see
    # members/kafka_python_member.py); a poll returns as soon as records arrive.
    try:
        deadline = time.monotonic() + WAIT_S
        while len(got) < len(sent):
            assert time.monotonic() < deadline, f"kafka-python consumed {len(got)} of {len(sent)}"
            for records in c.poll(timeout_ms=1000).values():
                got.extend(r.value for r in records)
        assert len(got) == len(sent) and set(got) == sent
        c.commit()
        for p in range(2):
            assert c.committed(KpTopicPartition(topic, p)) == 30
    finally:
        c.close()

    extra = produce_tagged(broker.bootstrap, topic, 2, 5, "k2")
    c = consumer()
    got = []
    try:
        deadline = time.monotonic() + WAIT_S
        while len(got) < len(extra):
            assert time.monotonic() < deadline, f"resumed consumer read {len(got)} of {len(extra)}"
            for records in c.poll(timeout_ms=1000).values():
                got.extend(r.value for r in records)
        assert set(got) == extra and len(got) == len(extra)
    finally:
        c.close()


class CountingMember(Member):
    """A Member that also counts revocations (a rebalance the test says must not happen)."""

    def __init__(self, bootstrap: str, group: str, topic: str, **overrides: object):
        self.revokes = 0
        super().__init__(bootstrap, group, topic, **overrides)

    def _on_revoke(self, consumer, partitions):
        self.revokes += 1
        self.assigned = set()


def test_static_member_rejoin_keeps_assignment_without_rebalance(broker):
    """KIP-345: a static member that restarts within its session takes its partitions back and
    the other member sees no rebalance (librdkafka sends no LeaveGroup for a static member)."""
    topic, group, partitions = "groups-static", f"s-{uuid.uuid4()}", 4
    create_topic(broker.bootstrap, topic, partitions)
    leader = CountingMember(broker.bootstrap, group, topic, **{"group.instance.id": "leader"})
    poll_until([leader], lambda: len(leader.assigned) == partitions, "leader alone")
    follower = CountingMember(broker.bootstrap, group, topic, **{"group.instance.id": "follower"})
    members = [leader, follower]
    try:
        poll_until(members, lambda: is_split(members, partitions), "2 static members x 2 partitions")
        revokes_before = leader.revokes
        owned = set(follower.assigned)
        follower.consumer.close()
        follower = CountingMember(broker.bootstrap, group, topic, **{"group.instance.id": "follower"})
        members = [leader, follower]
        poll_until(members, lambda: follower.assigned == owned, "the restarted static member's partitions")
        for _ in range(20):  # a rebalance would show up here as a revoke on the leader
            for m in members:
                m.poll(0.05)
        assert leader.revokes == revokes_before
        assert len(leader.assigned) == 2 and leader.assigned.isdisjoint(owned)
    finally:
        for m in members:
            m.consumer.close()


def test_crashed_member_expires_after_session_timeout_and_partitions_move(broker):
    """A consumer killed with SIGKILL never leaves: its session expires and the survivor gets
    every partition, then reads records produced to them."""
    topic, group, partitions = "groups-crash", f"c-{uuid.uuid4()}", 4
    create_topic(broker.bootstrap, topic, partitions)
    survivor = Member(broker.bootstrap, group, topic)
    try:
        child = {"session.timeout.ms": SESSION_TIMEOUT_MS, "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS}
        assert_killed_member_partitions_move(broker.bootstrap, topic, partitions, survivor, child, SESSION_TIMEOUT_MS)
    finally:
        survivor.consumer.close()


class IncrementalMember(Member):
    """A cooperative-sticky member (KIP-429): callbacks carry only the partitions that change."""

    def __init__(self, bootstrap: str, group: str, topic: str):
        self.revoked: list[set[int]] = []
        super().__init__(bootstrap, group, topic, **{"partition.assignment.strategy": "cooperative-sticky"})

    def _on_assign(self, consumer, partitions):
        self.assigned |= {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        lost = {p.partition for p in partitions}
        self.revoked.append(lost)
        self.assigned -= lost


def test_cooperative_sticky_second_member_takes_only_what_moves(broker):
    """With cooperative-sticky the broker just relays metadata and assignments; the client's two
    rebalances hand over half the partitions while the first member keeps the other half."""
    topic, group, partitions = "groups-cooperative", f"coop-{uuid.uuid4()}", 4
    create_topic(broker.bootstrap, topic, partitions)
    first = IncrementalMember(broker.bootstrap, group, topic)
    poll_until([first], lambda: len(first.assigned) == partitions, "first member alone")
    second = IncrementalMember(broker.bootstrap, group, topic)
    members = [first, second]
    try:
        poll_until(members, lambda: is_split(members, partitions), "2 x 2 cooperative")
        revoked = set().union(*first.revoked) if first.revoked else set()
        assert revoked == second.assigned, "only the partitions that moved were revoked"
        assert not second.revoked
        sent = produce_tagged(broker.bootstrap, topic, partitions, 10, "coop")
        poll_until(members, lambda: sum(len(m.records) for m in members) >= len(sent), "records")
        got = [v for m in members for (_, _, v) in m.records]
        assert len(got) == len(sent) and set(got) == sent
    finally:
        for m in members:
            m.consumer.close()
