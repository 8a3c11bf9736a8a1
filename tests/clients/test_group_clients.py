"""One consumer-group scenario, run with every client that can join a group as a separate process:
kafka-python 3.0.12, Debian's `kcat -G` (librdkafka 2.0.2) and KafkaJS 2.2.4.

Proves, for each client: three members of one group on a 6-partition topic are assigned every
partition exactly once (2/2/2) and read the first batch exactly once, each from its own partitions
only; when one member exits (SIGTERM: commit, LeaveGroup) the two others split its partitions 3/3
well before its 30 s session could have expired, and read the second batch exactly once from the
committed offsets; when one of those is killed with SIGKILL, the last member gets all six
partitions no sooner than the 6 s session timeout, and reads the third batch; over the whole run
the records consumed by all members are, per partition, offsets 0..n-1 exactly once with the values
produced there, so nothing is lost, repeated or misattributed.

Each phase waits for the group's committed offsets to reach the log end (Admin OffsetFetch) before
the next membership change, so a rebalance cannot legitimately re-deliver a record and "exactly
once" is the right assertion. The three clients run concurrently, each with its own topic and
group on one broker, which keeps the suite's wall time to about one scenario's.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections import defaultdict

from group_members import MEMBER_CLIENTS, SESSION_TIMEOUT_MS, MemberProcess, is_split, wait_for
from librdkafka_client import admin_client, create_topic, produce_tagged, wait_for_committed

PARTITIONS = 6
PER_PARTITION = 20
# The member that leaves has a long session: if the broker ignored its LeaveGroup, its partitions
# could only move once this expired, and the wait for the 3/3 split (this long) would fail.
LEAVER_SESSION_TIMEOUT_MS = 30_000
# A killed member's partitions cannot move before its session expires; the slack covers the
# heartbeat in flight when it died and clock granularity.
EXPIRY_SLACK_S = 1.5


def settle(members: list[MemberProcess], seconds: float = 0.5) -> None:
    """After everything expected has arrived, give a duplicate time to arrive too."""
    time.sleep(seconds)
    for m in members:
        m.check()


def group_scenario(bootstrap: str, client: str) -> None:
    start_member = MEMBER_CLIENTS[client]
    topic = f"scenario-{client}-{uuid.uuid4().hex[:8]}"
    group = f"{topic}-group"
    create_topic(bootstrap, topic, PARTITIONS)
    admin = admin_client(bootstrap)
    leaver = start_member(bootstrap, group, topic, LEAVER_SESSION_TIMEOUT_MS)
    everyone = [leaver] + [start_member(bootstrap, group, topic, SESSION_TIMEOUT_MS) for _ in range(2)]
    try:
        members = list(everyone)
        wait_for(members, lambda: is_split(members, PARTITIONS), f"{client}: 3 members x 2 partitions")
        end = 0

        def consume_batch(tag: str) -> None:
            """Produce a batch, see every record consumed exactly once by its partition's owner,
            then wait until the group has committed up to the log end."""
            nonlocal end
            marks = {id(m): len(m.records) for m in members}
            sent = produce_tagged(bootstrap, topic, PARTITIONS, PER_PARTITION, f"{client}-{tag}")
            new = lambda: [r for m in members for r in m.records[marks[id(m)]:]]  # noqa: E731
            wait_for(members, lambda: len(new()) >= len(sent), f"{client}: batch {tag} consumed")
            settle(members)
            got = [v.encode() for (_, _, v) in new()]
            assert len(got) == len(sent) and set(got) == sent, (
                f"{client} batch {tag}: {len(got)} records, {len(set(got) & sent)} of {len(sent)} expected"
            )
            for m in members:
                partitions = {p for (p, _, _) in m.records[marks[id(m)]:]}
                assert partitions <= m.assigned, f"{client}: {m.name} read {partitions} but owns {m.assigned}"
            end += PER_PARTITION
            wait_for_committed(admin, group, topic, {p: end for p in range(PARTITIONS)})

        consume_batch("a")

        leaver.terminate()
        moved = set(leaver.assigned)
        members.remove(leaver)
        wait_for(
            members,
            lambda: is_split(members, PARTITIONS),
            f"{client}: 2 members x 3 partitions after a LeaveGroup",
            timeout=LEAVER_SESSION_TIMEOUT_MS / 1000,
        )
        assert moved <= members[0].assigned | members[1].assigned
        consume_batch("b")

        victim = members.pop(0)
        victim.kill9()
        killed_at = time.monotonic()
        wait_for(members, lambda: len(members[0].assigned) == PARTITIONS, f"{client}: failover after SIGKILL")
        waited = time.monotonic() - killed_at
        assert waited >= SESSION_TIMEOUT_MS / 1000 - EXPIRY_SLACK_S, f"{client}: moved {waited:.1f}s after the kill"
        consume_batch("c")

        # The whole run, every member together: each partition's offsets exactly once, no gaps,
        # each offset holding the value produced to that partition.
        by_partition: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for m in everyone:
            for partition, offset, value in m.records:
                by_partition[partition].append((offset, value))
        assert sorted(by_partition) == list(range(PARTITIONS))
        for partition, records in by_partition.items():
            offsets = sorted(o for (o, _) in records)
            assert offsets == list(range(end)), f"{client}: partition {partition} offsets {offsets}"
            assert all(v.split("-")[-2] == str(partition) for (_, v) in records)
    finally:
        for m in everyone:
            m.close()


def test_three_members_split_leave_and_kill_with_every_client(broker):
    failures: dict[str, str] = {}

    def run(client: str) -> None:
        try:
            group_scenario(broker.bootstrap, client)
        except BaseException:  # noqa: BLE001 - reported below, per client
            failures[client] = traceback.format_exc()

    threads = [threading.Thread(target=run, args=(client,), name=client) for client in MEMBER_CLIENTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, "\n\n".join(f"===== {client} =====\n{tb}" for client, tb in failures.items())
