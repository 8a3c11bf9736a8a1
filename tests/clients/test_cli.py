"""The `wharf group` tools against a group of real confluent-kafka consumers.

Proves: while two confluent-kafka consumers hold a group, `wharf group describe --output json`
shows exactly the group's state, its two members (client id, host, assigned partition) and per
partition the offsets they committed, the log end offsets and the lag; `wharf group
reset-offsets` refuses while members are active and changes nothing; after the consumers close, a
dry run prints the plan and changes nothing, `--execute` commits it, and a new confluent-kafka
consumer of the group (with auto.offset.reset=latest, so only the committed offsets can send it
back) re-reads every record from offset 0 exactly once. The records were written by `wharf
produce`, so the test also shows a librdkafka consumer reading what the CLI produced.

Also: `wharf consume --group` and a confluent-kafka consumer share one group 2/2 whichever joins
first (so either computes the range assignment), and between them read every record exactly once
across wharf's interrupt, commit and leave.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from confluent_kafka import Consumer, KafkaError, TopicPartition

from broker_process import wharf_binary
from librdkafka_client import create_topic
from test_groups import group_consumer

TOPIC = "cli-orders"
GROUP = "cli-group"
# Records written to each partition by `wharf produce --partition`.
COUNTS = {0: 10, 1: 6}
# What each member commits for its partition before the tools look.
COMMITS = {0: 4, 1: 6}
WAIT_S = 60.0
CLI_TIMEOUT_S = 60.0


def wharf(broker, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(wharf_binary()), *args, "--bootstrap-server", broker.bootstrap],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )


def wharf_json(broker, *args: str):
    done = wharf(broker, *args, "--output", "json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


def group_state(broker, group: str) -> str | None:
    """The group's state, or None while the broker does not know the group yet."""
    done = wharf(broker, "group", "describe", group, "--output", "json")
    if done.returncode != 0:
        assert "GROUP_ID_NOT_FOUND" in done.stderr, done.stderr
        return None
    return json.loads(done.stdout)["state"]


def member(bootstrap: str, client_id: str, **overrides: object) -> Consumer:
    return group_consumer(bootstrap, GROUP, **{"client.id": client_id, **overrides})


def poll_all(consumers: list[Consumer], done, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for c in consumers:
            msg = c.poll(0.05)
            if msg is not None:
                assert msg.error() is None or msg.error().code() == KafkaError._PARTITION_EOF, msg.error()


def offsets_row(partition: int, committed: int, member_id: str | None) -> dict:
    end = COUNTS[partition]
    return {
        "topic": TOPIC,
        "partition": partition,
        "committed_offset": committed,
        "log_end_offset": end,
        "lag": end - committed,
        "member_id": member_id,
    }


def test_group_describe_and_reset_offsets_with_confluent_consumers(broker):
    create_topic(broker.bootstrap, TOPIC, partitions=2)
    for partition, count in COUNTS.items():
        lines = "".join(f"p{partition}-{i}\n" for i in range(count))
        done = wharf(broker, "produce", TOPIC, "--partition", str(partition), stdin=lines)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    # Two members split the two partitions; each commits a known offset for its partition.
    a, b = member(broker.bootstrap, "cli-a"), member(broker.bootstrap, "cli-b")
    for c in (a, b):
        c.subscribe([TOPIC])
    poll_all([a, b], lambda: len(a.assignment()) == 1 and len(b.assignment()) == 1, "one partition each")
    owner = {c.assignment()[0].partition: c for c in (a, b)}
    for partition, c in owner.items():
        c.commit(offsets=[TopicPartition(TOPIC, partition, COMMITS[partition])], asynchronous=False)

    described = wharf_json(broker, "group", "describe", GROUP)
    members = sorted(described.pop("members"), key=lambda m: m["client_id"])
    assert described == {
        "group": GROUP,
        "state": "Stable",
        "protocol_type": "consumer",
        "protocol": "range",
        "offsets": [offsets_row(p, COMMITS[p], owner[p].memberid()) for p in (0, 1)],
    }
    assert [(m["client_id"], m["member_id"], m["assignment"]) for m in members] == [
        (name, c.memberid(), [{"topic": TOPIC, "partitions": [c.assignment()[0].partition]}])
        for name, c in (("cli-a", a), ("cli-b", b))
    ]
    assert all(m["host"].endswith("127.0.0.1") and m["group_instance_id"] is None for m in members), members

    # Kafka's rule: no reset while the group has active members; nothing is committed.
    refused = wharf(broker, "group", "reset-offsets", "--group", GROUP, "--topic", TOPIC, "--to-earliest", "--execute")
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "2 active member(s)" in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
    committed_rows = [offsets_row(p, COMMITS[p], None) for p in (0, 1)]

    a.close()
    b.close()
    after_close = wharf_json(broker, "group", "describe", GROUP)
    assert (after_close["state"], after_close["members"], after_close["offsets"]) == ("Empty", [], committed_rows)

    # A dry run prints the plan and commits nothing.
    plan = [{"topic": TOPIC, "partition": p, "current_offset": COMMITS[p], "new_offset": 0} for p in (0, 1)]
    dry = wharf_json(broker, "group", "reset-offsets", "--group", GROUP, "--topic", TOPIC, "--to-earliest")
    assert dry == {"group": GROUP, "executed": False, "partitions": plan}
    assert wharf_json(broker, "group", "describe", GROUP)["offsets"] == committed_rows

    done = wharf_json(broker, "group", "reset-offsets", "--group", GROUP, "--topic", TOPIC, "--to-earliest", "--execute")
    assert done == {"group": GROUP, "executed": True, "partitions": plan}
    assert wharf_json(broker, "group", "describe", GROUP)["offsets"] == [offsets_row(p, 0, None) for p in (0, 1)]

    # auto.offset.reset=latest: only the committed offsets can make this consumer start at 0.
    again = member(broker.bootstrap, "cli-c", **{"auto.offset.reset": "latest"})
    again.subscribe([TOPIC])
    seen: list[tuple[int, int, bytes]] = []
    deadline = time.monotonic() + WAIT_S
    while len(seen) < sum(COUNTS.values()):
        assert time.monotonic() < deadline, f"re-read only {len(seen)} records"
        msg = again.poll(0.1)
        if msg is not None and msg.error() is None:
            seen.append((msg.partition(), msg.offset(), msg.value()))
    again.close()
    expected = [(p, i, f"p{p}-{i}".encode()) for p, count in COUNTS.items() for i in range(count)]
    assert sorted(seen) == expected


@pytest.mark.parametrize("first", ["confluent", "wharf"])
def test_wharf_consume_shares_a_group_with_a_confluent_consumer(broker, first):
    """`wharf consume --group` and a confluent-kafka consumer split a 4-partition topic 2/2 in one
    group, whichever of them joins first (and so computes the range assignment as leader); each
    reads exactly its partitions' records; when wharf is interrupted it commits and leaves, and the
    confluent consumer takes over its partitions from wharf's commits: all 44 records are read
    exactly once between them."""
    topic, group = f"mixed-{first}", f"mixed-{first}"
    create_topic(broker.bootstrap, topic, partitions=4)
    confluent = group_consumer(broker.bootstrap, group, **{"client.id": "confluent"})
    seen: list[tuple[int, int, bytes]] = []

    def poll_confluent() -> None:
        msg = confluent.poll(0.05)
        if msg is not None and msg.error() is None:
            seen.append((msg.partition(), msg.offset(), msg.value()))

    def start_wharf() -> subprocess.Popen:
        args = [str(wharf_binary()), "consume", topic, "--group", group, "--from-beginning"]
        return subprocess.Popen(
            [*args, "--bootstrap-server", broker.bootstrap], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def wait_for(done, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            poll_confluent()

    if first == "wharf":
        wharf_consumer = start_wharf()
        wait_for(lambda: group_state(broker, group) == "Stable", "wharf alone")
        confluent.subscribe([topic])
    else:
        confluent.subscribe([topic])
        wait_for(lambda: len(confluent.assignment()) == 4, "confluent alone")
        wharf_consumer = start_wharf()
    wait_for(lambda: len(confluent.assignment()) == 2, "a 2/2 split")
    wait_for(lambda: len(wharf_json(broker, "group", "describe", group)["members"]) == 2, "two members")
    described = wharf_json(broker, "group", "describe", group)
    assert (described["state"], described["protocol"]) == ("Stable", "range")
    mine = sorted(tp.partition for tp in confluent.assignment())
    by_client = {m["client_id"]: m["assignment"] for m in described["members"]}
    theirs = sorted(set(range(4)) - set(mine))
    assert by_client == {
        "confluent": [{"topic": topic, "partitions": mine}],
        "wharf-cli": [{"topic": topic, "partitions": theirs}],
    }

    lines = "".join(f"r{i}\n" for i in range(40))
    done = wharf(broker, "produce", topic, stdin=lines)  # round-robin: 10 per partition
    assert (done.returncode, done.stderr) == (0, "")

    def wharf_committed_all() -> bool:
        offsets = wharf_json(broker, "group", "describe", group)["offsets"]
        return all(o["committed_offset"] == 10 for o in offsets if o["partition"] in theirs)

    wait_for(lambda: len(seen) == 20 and wharf_committed_all(), "each member to read its 20 records")
    assert {p for p, _, _ in seen} == set(mine)
    confluent.commit(asynchronous=False)
    wharf_consumer.send_signal(signal.SIGINT)
    out, err = wharf_consumer.communicate(timeout=CLI_TIMEOUT_S)
    assert (wharf_consumer.returncode, err) == (0, b""), err
    wait_for(lambda: len(confluent.assignment()) == 4, "confluent to take over")

    # One new record per partition. Records are read in order per partition, so once all four
    # arrived, anything re-read (a resume before wharf's commits) has arrived before them.
    done = wharf(broker, "produce", topic, stdin="n0\nn1\nn2\nn3\n")
    assert (done.returncode, done.stderr) == (0, "")
    wait_for(lambda: {b"n0", b"n1", b"n2", b"n3"} <= {v for _, _, v in seen}, "the four new records")
    confluent.close()
    read_by_wharf = out.decode().split()
    read_by_confluent = [v.decode() for _, _, v in seen]
    expected = [f"r{i}" for i in range(40)] + [f"n{i}" for i in range(4)]
    assert sorted(read_by_wharf + read_by_confluent) == sorted(expected)
