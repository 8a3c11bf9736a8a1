"""KIP-848 consumer groups (group.protocol=consumer) with librdkafka 2.16 through confluent-kafka.

Proves: three consumers split a 6-partition topic two partitions each, read every record exactly
once, and when one leaves with close() the other two take its partitions (three each) and resume
from its commits with nothing lost or repeated; a consumer killed with SIGKILL is fenced after the
broker's consumer session timeout and its partitions move; commits survive a broker SIGKILL and a
new member resumes exactly after the last commit; AdminClient's describe_consumer_groups and
list_consumer_groups report the group's type, state, assignor, members and assignments exactly.

The broker runs with a 6 s consumer session timeout and a 500 ms heartbeat interval (in KIP-848
both are the broker's settings, not the client's).
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, ConsumerGroupType, KafkaError, KafkaException, TopicPartition

import librdkafka_group
from group_members import WAIT_S, is_split
from librdkafka_client import admin_client, base_config, create_topic
from librdkafka_client import produce_tagged as produce
from librdkafka_group import (
    assert_killed_member_partitions_move,
    assert_split_then_take_over_on_leave,
    drain,
    poll_until,
)

SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 500
BROKER_ARGS = (
    "--group-consumer-session-timeout-ms",
    str(SESSION_TIMEOUT_MS),
    "--group-consumer-heartbeat-interval-ms",
    str(HEARTBEAT_INTERVAL_MS),
)

pytestmark = pytest.mark.wharf_args(*BROKER_ARGS)


def consumer_config(bootstrap: str, group: str, **overrides: object) -> dict[str, object]:
    config = base_config(bootstrap)
    config.update({
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
    })
    config.update(overrides)
    return config


class Member(librdkafka_group.Member):
    """A subscribed consumer-protocol member. Its callbacks carry only the partitions that change
    (KIP-848 rebalances are incremental), so the assignment is tracked as a running set; on
    revoke it commits what it consumed, as an application would."""

    def __init__(self, bootstrap: str, group: str, topic: str, **overrides: object):
        self.group = group
        self.consumer = Consumer(consumer_config(bootstrap, group, **overrides))
        self.assigned: set[int] = set()
        self.records: list[tuple[int, int, bytes]] = []
        self.at_eof: set[int] = set()
        self.commit_on_revoke = True
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer, partitions):
        self.assigned |= {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        if not self.commit_on_revoke:
            self.assigned -= {p.partition for p in partitions}
            return
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as e:
            # Nothing consumed since the last commit: nothing to do.
            assert e.args[0].code() == KafkaError._NO_OFFSET, e
        self.assigned -= {p.partition for p in partitions}


def test_consumer_protocol_three_members_split_and_take_over_on_leave(broker):
    topic, group, partitions = "kip848-split", f"g-{uuid.uuid4()}", 6
    create_topic(broker.bootstrap, topic, partitions)
    members = [Member(broker.bootstrap, group, topic) for _ in range(3)]
    try:
        assert_split_then_take_over_on_leave(broker.bootstrap, topic, partitions, members)
    finally:
        for m in members:
            m.consumer.close()


def test_consumer_protocol_killed_member_fenced_after_session_timeout(broker):
    topic, group, partitions = "kip848-crash", f"c-{uuid.uuid4()}", 4
    create_topic(broker.bootstrap, topic, partitions)
    survivor = Member(broker.bootstrap, group, topic)
    try:
        child = {"group.protocol": "consumer"}
        assert_killed_member_partitions_move(broker.bootstrap, topic, partitions, survivor, child, SESSION_TIMEOUT_MS)
    finally:
        survivor.consumer.close()


def test_consumer_protocol_commit_survives_broker_kill_and_member_resumes(broker):
    topic, group = "kip848-resume", f"r-{uuid.uuid4()}"
    create_topic(broker.bootstrap, topic, 1)
    produce(broker.bootstrap, topic, 1, 100, "r")
    m = Member(broker.bootstrap, group, topic)
    poll_until([m], lambda: len(m.records) >= 40, "40 records")
    last = m.records[39][1]
    m.consumer.commit(offsets=[TopicPartition(topic, 0, last + 1)], asynchronous=False)
    m.commit_on_revoke = False  # it may have fetched past record 40: keep the explicit commit
    m.consumer.close()
    broker.kill9()
    broker.start()
    m = Member(broker.bootstrap, group, topic)
    try:
        [committed] = m.consumer.committed([TopicPartition(topic, 0)], timeout=30)
        assert committed.offset == last + 1
        poll_until([m], lambda: len(m.records) >= 1, "a record after restart")
        assert m.records[0][1] == last + 1
    finally:
        m.consumer.close()


def test_consumer_protocol_admin_describe_and_list(broker):
    topic, group, partitions = "kip848-admin", f"d-{uuid.uuid4()}", 4
    create_topic(broker.bootstrap, topic, partitions)
    members = [Member(broker.bootstrap, group, topic, **{"client.id": f"client-{i}"}) for i in range(2)]
    admin = admin_client(broker.bootstrap)
    try:
        poll_until(members, lambda: is_split(members, partitions), "2 members x 2 partitions")
        # Both members see their final assignment; the broker also has them at the target epoch.
        deadline = time.monotonic() + WAIT_S
        while True:
            d = admin.describe_consumer_groups([group])[group].result(timeout=30)
            if d.state == ConsumerGroupState.STABLE:
                break
            assert time.monotonic() < deadline, f"group state {d.state}"
            drain(members, 4)
        assert d.type == ConsumerGroupType.CONSUMER
        assert d.partition_assignor == "uniform"
        by_client = {
            md.client_id: {tp.partition for tp in md.assignment.topic_partitions if tp.topic == topic}
            for md in d.members
        }
        assert by_client == {"client-0": members[0].assigned, "client-1": members[1].assigned}

        listed = admin.list_consumer_groups().result(timeout=30)
        [mine] = [g for g in listed.valid if g.group_id == group]
        assert (mine.type, mine.state) == (ConsumerGroupType.CONSUMER, ConsumerGroupState.STABLE)
    finally:
        for m in members:
            m.consumer.close()
