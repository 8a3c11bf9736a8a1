"""confluent-kafka's Admin API on consumer groups, asserted exactly against groups the test made.

Proves: with a Stable group of two subscribed members (client ids admin-a, admin-b), an Empty group
whose only member committed and left, and an Empty "simple" group that only committed offsets
through assign() (no protocol type): ListGroups lists exactly those three with their states and
types, and its state filter returns exactly the matching ones; DescribeGroups shows the Stable
group's protocol (range), each member's id (as the member itself knows it), client id, host and
assigned partitions, and the Empty group with no members; OffsetFetch returns every committed offset
with its metadata string, and -1001 for a partition never committed.

librdkafka (2.16) asks ConsumerGroupDescribe (KIP-848) first when the broker advertises it and falls
back to DescribeGroups for a classic group (KAFKA_NOTES quirk 11); everything asserted here is the
same on either path, so this test holds while the broker learns KIP-848.
"""

from __future__ import annotations

import uuid

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    TopicPartition,
)

from group_members import is_split
from librdkafka_client import REQUEST_TIMEOUT_S, admin_client, committed_offsets, create_topic
from librdkafka_group import Member, group_consumer, poll_until

PARTITIONS = 4
# An offset the group never committed reads back as this (librdkafka's OFFSET_INVALID).
NO_OFFSET = -1001


def commit_known_offsets(consumer, topic: str, partitions) -> dict[int, tuple[int, str]]:
    """Commits offset 10 + p with metadata `m-p` for each partition; returns what was committed."""
    want = {p: (10 + p, f"m-{p}") for p in partitions}
    consumer.commit(offsets=[TopicPartition(topic, p, o, metadata=m) for p, (o, m) in want.items()], asynchronous=False)
    return want


def fetched_offsets(admin, group: str) -> dict[int, tuple[int, str]]:
    """Every committed offset of the group (OffsetFetch with no partition list)."""
    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=REQUEST_TIMEOUT_S)
    tps = result[group].result(timeout=REQUEST_TIMEOUT_S).topic_partitions
    assert all(tp.error is None for tp in tps), [tp.error for tp in tps]
    return {tp.partition: (tp.offset, tp.metadata) for tp in tps}


def listed(admin, **kwargs) -> set[tuple[str, bool, ConsumerGroupState, ConsumerGroupType]]:
    result = admin.list_consumer_groups(request_timeout=REQUEST_TIMEOUT_S, **kwargs).result(timeout=REQUEST_TIMEOUT_S)
    assert result.errors == []
    return {(g.group_id, g.is_simple_consumer_group, g.state, g.type) for g in result.valid}


def test_admin_lists_describes_and_fetches_offsets_of_real_groups(broker):
    topic = "groups-admin"
    create_topic(broker.bootstrap, topic, PARTITIONS)
    stable, left, simple = (f"{name}-{uuid.uuid4()}" for name in ("stable", "left", "simple"))
    admin = admin_client(broker.bootstrap)

    # A simple group: offsets committed through assign(), never joined (no protocol type).
    standalone = group_consumer(broker.bootstrap, simple)
    standalone.assign([TopicPartition(topic, 0)])
    simple_offsets = commit_known_offsets(standalone, topic, [0])
    standalone.close()

    # A group whose only member committed and left.
    leaver = Member(broker.bootstrap, left, topic)
    poll_until([leaver], lambda: leaver.assigned == set(range(PARTITIONS)), "the leaving group's member")
    left_offsets = commit_known_offsets(leaver.consumer, topic, [1, 2])
    leaver.consumer.close()

    members = [Member(broker.bootstrap, stable, topic, **{"client.id": f"admin-{c}"}) for c in "ab"]
    try:
        poll_until(members, lambda: is_split(members, PARTITIONS), "2 members x 2 partitions")
        stable_offsets = {}
        for m in members:
            stable_offsets |= commit_known_offsets(m.consumer, topic, sorted(m.assigned))

        classic = ConsumerGroupType.CLASSIC
        empty, stable_state = ConsumerGroupState.EMPTY, ConsumerGroupState.STABLE
        assert listed(admin) == {
            (stable, False, stable_state, classic),
            (left, False, empty, classic),
            (simple, True, empty, classic),
        }
        assert listed(admin, states={stable_state}) == {(stable, False, stable_state, classic)}
        assert listed(admin, states={empty}) == {(left, False, empty, classic), (simple, True, empty, classic)}

        described = admin.describe_consumer_groups([stable, left], request_timeout=REQUEST_TIMEOUT_S)
        d = described[stable].result(timeout=REQUEST_TIMEOUT_S)
        assert (d.group_id, d.is_simple_consumer_group, d.state, d.type) == (stable, False, stable_state, classic)
        assert d.partition_assignor == "range"
        assert (d.coordinator.host, d.coordinator.port) == (broker.host, broker.port)
        got = {
            (md.member_id, md.client_id, md.host, md.group_instance_id, frozenset(
                (tp.topic, tp.partition) for tp in md.assignment.topic_partitions
            ))
            for md in d.members
        }
        want = {
            (m.consumer.memberid(), f"admin-{c}", "/127.0.0.1", None, frozenset((topic, p) for p in m.assigned))
            for m, c in zip(members, "ab")
        }
        assert got == want
        d = described[left].result(timeout=REQUEST_TIMEOUT_S)
        assert (d.state, d.members, d.partition_assignor) == (empty, [], "")

        assert fetched_offsets(admin, stable) == stable_offsets
        assert fetched_offsets(admin, left) == left_offsets
        assert fetched_offsets(admin, simple) == simple_offsets
        # Asked for explicitly, a partition the group never committed has no offset.
        assert committed_offsets(admin, simple, topic, PARTITIONS) == {0: 10, 1: NO_OFFSET, 2: NO_OFFSET, 3: NO_OFFSET}
    finally:
        for m in members:
            m.consumer.close()
