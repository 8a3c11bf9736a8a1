"""The HTTP gateway's REST API (issue #7) against the real binary, beside real Kafka clients.

Proves, with exact results: topic create/list/describe/delete; produce in the json, text and
base64 formats with keys, headers and explicit partitions, read back by offset, by timestamp,
from earliest/latest, and by confluent-kafka; records produced by confluent-kafka read over HTTP;
a keyed record sent over HTTP lands on the partition librdkafka's default partitioner picks
for that key; group list/describe with committed offsets and lag, delete refused while the group
has members; two HTTP group members split a topic's partitions, read every record once and
commit so a later Kafka consumer resumes after them; Server-Sent Events from an offset and as a
group member; peak shaving over HTTP (429 POLICY_VIOLATION past the backlog cap); health,
readiness and the OpenAPI document naming every route; bad input (unknown topic or partition,
malformed JSON, unknown fields, wrong value types, bad parameters, an oversized body, too many
records, an unknown path) answered with a 4xx and a JSON body naming the error.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from http_api import EventStream, call, ok
from librdkafka_client import (
    base_config,
    consume_partitions,
    create_topic,
    produce_all,
    producer_config,
)


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_of(status_and_body) -> tuple[int, str]:
    status, body = status_and_body
    assert set(body) == {"error", "error_code", "message"}, body
    assert body["message"], body
    return status, body["error"]


def test_topics_create_list_describe_delete(broker):
    url = broker.http_url
    created = ok(url, "POST", "/v1/topics", {"name": "orders", "partitions": 3, "configs": {"retention.ms": "60000"}},
                 expect=201)
    assert created == {"name": "orders", "partitions": 3}
    ok(url, "POST", "/v1/topics", {"name": "audit"}, expect=201)
    listed = ok(url, "GET", "/v1/topics")["topics"]
    user = [t for t in listed if not t["internal"]]
    assert user == [{"name": "audit", "partitions": 1, "internal": False},
                    {"name": "orders", "partitions": 3, "internal": False}]

    described = ok(url, "GET", "/v1/topics/orders")
    assert described["name"] == "orders"
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    for p in described["partitions"]:
        assert (p["log_start_offset"], p["high_watermark"], p["last_stable_offset"], p["size_bytes"]) == (0, 0, 0, 0)
        assert p["segments"] == 1
    assert described["configs"]["retention.ms"] == "60000"
    assert described["configs"]["cleanup.policy"] == "delete"

    assert error_of(call(url, "POST", "/v1/topics", {"name": "orders"})) == (409, "TOPIC_ALREADY_EXISTS")
    assert error_of(call(url, "POST", "/v1/topics", {"name": "bad", "partitions": 0})) == (400, "INVALID_PARTITIONS")
    assert error_of(call(url, "POST", "/v1/topics", {"name": "bad name!"})) == (400, "INVALID_TOPIC_EXCEPTION")
    assert error_of(call(url, "POST", "/v1/topics", {"name": "c", "configs": {"retention.ms": "x"}}))[0] == 400

    ok(url, "DELETE", "/v1/topics/audit", expect=204)
    assert error_of(call(url, "GET", "/v1/topics/audit")) == (404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert error_of(call(url, "DELETE", "/v1/topics/audit")) == (404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert [t["name"] for t in ok(url, "GET", "/v1/topics")["topics"] if not t["internal"]] == ["orders"]


def test_produce_and_fetch_in_every_format(broker):
    url = broker.http_url
    ok(url, "POST", "/v1/topics", {"name": "formats", "partitions": 2}, expect=201)
    before = int(time.time() * 1000)
    answer = ok(url, "POST", "/v1/topics/formats/records", {"records": [
        {"key": "k1", "value": {"user": 1, "tags": ["a"]}, "partition": 0, "headers": {"source": "test"}},
        {"value": "plain text as a JSON string", "partition": 0},
        {"key": "k3", "value": None, "partition": 1},
    ]})
    assert answer == {"offsets": [{"partition": 0, "offset": 0}, {"partition": 0, "offset": 1},
                                  {"partition": 1, "offset": 0}]}
    answer = ok(url, "POST", "/v1/topics/formats/records", {"format": "text", "records": [
        {"key": "t", "value": "hello", "partition": 0}]})
    assert answer == {"offsets": [{"partition": 0, "offset": 2}]}
    binary = bytes(range(256))
    answer = ok(url, "POST", "/v1/topics/formats/records", {"format": "base64", "records": [
        {"key": base64.b64encode(b"\x00key").decode(), "value": base64.b64encode(binary).decode(), "partition": 0}]})
    assert answer == {"offsets": [{"partition": 0, "offset": 3}]}

    page = ok(url, "GET", "/v1/topics/formats/partitions/0/records?offset=0")
    assert (page["high_watermark"], page["next_offset"]) == (4, 4)
    got = [(r["offset"], r["key"], r["value"], r["headers"]) for r in page["records"]]
    assert got[:3] == [(0, "k1", {"user": 1, "tags": ["a"]}, {"source": "test"}),
                       (1, None, "plain text as a JSON string", {}),
                       (2, "t", "hello", {})]
    assert got[3][0] == 3 and isinstance(got[3][2], str)  # not JSON, not UTF-8: shown as lossy text
    assert all(r["topic"] == "formats" and r["partition"] == 0 for r in page["records"])
    assert all(before <= r["timestamp"] <= before + 60_000 for r in page["records"])

    b64 = ok(url, "GET", "/v1/topics/formats/partitions/0/records?offset=3&format=base64")["records"]
    assert [(base64.b64decode(r["key"]), base64.b64decode(r["value"])) for r in b64] == [(b"\x00key", binary)]
    text = ok(url, "GET", "/v1/topics/formats/partitions/0/records?offset=0&max_records=1&format=text")
    assert [r["value"] for r in text["records"]] == ['{"user":1,"tags":["a"]}']
    assert text["next_offset"] == 1
    tombstone = ok(url, "GET", "/v1/topics/formats/partitions/1/records")["records"]
    assert [(r["offset"], r["key"], r["value"]) for r in tombstone] == [(0, "k3", None)]

    assert ok(url, "GET", "/v1/topics/formats/partitions/0/records?offset=latest")["records"] == []
    earliest = ok(url, "GET", "/v1/topics/formats/partitions/0/records?offset=earliest&max_records=2")
    assert [r["offset"] for r in earliest["records"]] == [0, 1]
    by_time = ok(url, "GET", f"/v1/topics/formats/partitions/0/records?timestamp={before}")
    assert [r["offset"] for r in by_time["records"]] == [0, 1, 2, 3]
    future = ok(url, "GET", f"/v1/topics/formats/partitions/0/records?timestamp={before + 3_600_000}")
    assert (future["records"], future["next_offset"]) == ([], 4)

    # The same records through a Kafka client, byte for byte.
    records = consume_partitions(broker.bootstrap, "formats", [0])
    assert [(r.offset, r.key, r.value) for r in records] == [
        (0, b"k1", b'{"user":1,"tags":["a"]}'), (1, None, b'"plain text as a JSON string"'),
        (2, b"t", b"hello"), (3, b"\x00key", binary)]
    assert records[0].headers == (("source", b"test"),)


def test_records_from_a_kafka_producer_read_over_http(broker):
    create_topic(broker.bootstrap, "from-kafka", partitions=1)
    producer = Producer(producer_config(broker.bootstrap))
    produce_all(producer, "from-kafka", ({"key": f"k{i}".encode(), "value": json.dumps({"n": i}).encode(),
                                         "headers": [("i", str(i).encode())], "partition": 0} for i in range(10)))
    page = ok(broker.http_url, "GET", "/v1/topics/from-kafka/partitions/0/records?offset=0&max_records=100")
    assert [(r["offset"], r["key"], r["value"], r["headers"]) for r in page["records"]] == [
        (i, f"k{i}", {"n": i}, {"i": str(i)}) for i in range(10)]
    assert (page["high_watermark"], page["next_offset"]) == (10, 10)


def test_keyed_records_land_where_librdkafka_puts_them(broker):
    partitions = 7
    create_topic(broker.bootstrap, "keyed", partitions=partitions)
    keys = [f"customer-{i}" for i in range(60)]
    # librdkafka's default partitioner (consistent_random) as confluent-kafka ships it.
    producer = Producer(producer_config(broker.bootstrap))
    reports = produce_all(producer, "keyed", ({"key": k.encode(), "value": b"kafka"} for k in keys))
    kafka_partition = {r.key.decode(): r.partition for r in reports}
    assert len(set(kafka_partition.values())) > 1, "keys should spread over partitions"

    answer = ok(broker.http_url, "POST", "/v1/topics/keyed/records",
                {"format": "text", "records": [{"key": k, "value": f"http-{k}"} for k in keys]})
    http_partition = {k: o["partition"] for k, o in zip(keys, answer["offsets"])}
    assert http_partition == kafka_partition

    # A Kafka consumer finds each HTTP record on that partition, right after the Kafka one.
    records = consume_partitions(broker.bootstrap, "keyed", list(range(partitions)))
    http_records = {r.key.decode(): r for r in records if r.value.startswith(b"http-")}
    assert {k: r.partition for k, r in http_records.items()} == kafka_partition
    assert all(http_records[k].value == f"http-{k}".encode() for k in keys)


def test_group_describe_lag_and_delete(broker):
    url = broker.http_url
    create_topic(broker.bootstrap, "lagging", partitions=2)
    ok(url, "POST", "/v1/topics/lagging/records",
       {"records": [{"value": i, "partition": i % 2} for i in range(10)]})
    group = "billing"
    consumer = Consumer(base_config(broker.bootstrap) | {"group.id": group, "enable.auto.commit": False,
                                                         "auto.offset.reset": "earliest",
                                                         "client.id": "billing-1"})
    consumer.subscribe(["lagging"])
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            consumer.poll(0.2)
            assert time.monotonic() < deadline, "no assignment"
        consumer.commit(offsets=[TopicPartition("lagging", 0, 2), TopicPartition("lagging", 1, 5)], asynchronous=False)
        listed = ok(url, "GET", "/v1/groups")["groups"]
        assert {"group_id": group, "state": "Stable", "protocol_type": "consumer"} in listed
        described = ok(url, "GET", f"/v1/groups/{group}")
        assert (described["state"], described["protocol"]) == ("Stable", "range")
        [member] = described["members"]
        assert (member["client_id"], member["host"]) == ("billing-1", "/127.0.0.1")  # Kafka spells client_host so
        assert member["assignments"] == [{"topic": "lagging", "partitions": [0, 1]}]
        assert described["offsets"] == [
            {"topic": "lagging", "partition": 0, "committed_offset": 2, "high_watermark": 5, "lag": 3},
            {"topic": "lagging", "partition": 1, "committed_offset": 5, "high_watermark": 5, "lag": 0},
        ]
        assert error_of(call(url, "DELETE", f"/v1/groups/{group}")) == (409, "NON_EMPTY_GROUP")
    finally:
        consumer.close()
    deadline = time.monotonic() + 30
    while ok(url, "GET", f"/v1/groups/{group}")["state"] != "Empty":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    ok(url, "DELETE", f"/v1/groups/{group}", expect=204)
    assert error_of(call(url, "GET", f"/v1/groups/{group}")) == (404, "GROUP_ID_NOT_FOUND")


def test_http_members_split_partitions_and_commit(broker):
    url = broker.http_url
    create_topic(broker.bootstrap, "work", partitions=4)
    ok(url, "POST", "/v1/topics/work/records",
       {"format": "text", "records": [{"value": f"job-{i}", "partition": i % 4} for i in range(40)]})
    group = "workers"
    first = ok(url, "POST", f"/v1/groups/{group}/members", {"topics": ["work"], "auto_offset_reset": "earliest"},
               expect=201)
    second = ok(url, "POST", f"/v1/groups/{group}/members", {"topics": ["work"], "auto_offset_reset": "earliest"},
                expect=201)
    # The first member rejoins from its heartbeat task when the second joins; wait for the split.
    deadline = time.monotonic() + 30
    while True:
        members = ok(url, "GET", f"/v1/groups/{group}")["members"]
        owned = sorted(p for m in members for a in m["assignments"] for p in a["partitions"])
        if len(members) == 2 and owned == [0, 1, 2, 3] and all(m["assignments"] for m in members):
            break
        assert time.monotonic() < deadline, f"no 2-way split: {members}"
        time.sleep(0.2)

    seen: dict[str, list[tuple[int, int, str]]] = {}
    for m in (first, second):
        mid = m["member_id"]
        got: list[tuple[int, int, str]] = []
        for _ in range(20):
            page = ok(url, "GET", f"/v1/groups/{group}/members/{mid}/records?max_records=7&timeout_ms=200&format=text")
            got += [(r["partition"], r["offset"], r["value"]) for r in page["records"]]
            if len(got) >= 20:
                break
        seen[mid] = got
        assert ok(url, "POST", f"/v1/groups/{group}/members/{mid}/commit")["committed"] == 2
    everything = sorted(seen[first["member_id"]] + seen[second["member_id"]])
    assert everything == sorted((i % 4, i // 4, f"job-{i}") for i in range(40))
    assert {p for p, _, _ in seen[first["member_id"]]}.isdisjoint({p for p, _, _ in seen[second["member_id"]]})
    offsets = ok(url, "GET", f"/v1/groups/{group}")["offsets"]
    assert [(o["partition"], o["committed_offset"], o["lag"]) for o in offsets] == [(p, 10, 0) for p in range(4)]

    for m in (first, second):
        ok(url, "DELETE", f"/v1/groups/{group}/members/{m['member_id']}", expect=204)
    assert error_of(call(url, "GET", f"/v1/groups/{group}/members/{first['member_id']}/records")) == (
        404, "UNKNOWN_MEMBER_ID")
    # A Kafka consumer in the same group starts after what the HTTP members committed.
    ok(url, "POST", "/v1/topics/work/records", {"format": "text", "records": [{"value": "late", "partition": 2}]})
    consumer = Consumer(base_config(broker.bootstrap) | {"group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe(["work"])
    try:
        deadline = time.monotonic() + 30
        msg = None
        while msg is None or msg.error():
            msg = consumer.poll(0.5)
            assert time.monotonic() < deadline, "the Kafka consumer got nothing"
        assert (msg.partition(), msg.offset(), msg.value()) == (2, 10, b"late")
    finally:
        consumer.close()


def test_server_sent_events_from_offset_and_as_member(broker):
    url = broker.http_url
    create_topic(broker.bootstrap, "live", partitions=2)
    ok(url, "POST", "/v1/topics/live/records", {"records": [{"value": {"n": 0}, "partition": 1}]})
    stream = EventStream(url, "/v1/topics/live/events?from=earliest")
    try:
        first = stream.next_event()
        assert (first["event"], first["id"]) == ("record", "1:0")
        assert json.loads(first["data"])["value"] == {"n": 0}
        producer = Producer(producer_config(broker.bootstrap))
        produce_all(producer, "live", ({"value": json.dumps({"n": i}).encode(), "partition": 0} for i in range(1, 6)))
        got = [stream.next_event() for _ in range(5)]
        assert [e["id"] for e in got] == [f"0:{i}" for i in range(5)]
        assert [json.loads(e["data"])["value"] for e in got] == [{"n": i} for i in range(1, 6)]
    finally:
        stream.close()

    member_stream = EventStream(url, "/v1/topics/live/events?group=sse-readers&from=earliest")
    try:
        got = sorted(member_stream.next_event()["id"] for _ in range(6))
        assert got == ["0:0", "0:1", "0:2", "0:3", "0:4", "1:0"]
    finally:
        member_stream.close()
    # What the stream sent was committed for its group.
    deadline = time.monotonic() + 30
    while True:
        status, described = call(url, "GET", "/v1/groups/sse-readers")
        offsets = [(o["partition"], o["committed_offset"]) for o in described.get("offsets", [])] if status == 200 else []
        if offsets == [(0, 5), (1, 1)]:
            break
        assert time.monotonic() < deadline, f"stream's commits: {described}"
        time.sleep(0.2)


def test_backlog_full_answers_429(broker):
    url = broker.http_url
    ok(url, "POST", "/v1/topics", {"name": "sale", "configs": {"max.backlog.messages": "3"}}, expect=201)
    ok(url, "POST", "/v1/topics/sale/records", {"records": [{"value": i} for i in range(3)]})
    assert error_of(call(url, "POST", "/v1/topics/sale/records", {"records": [{"value": 3}]})) == (
        429, "POLICY_VIOLATION")
    assert ok(url, "GET", "/v1/topics/sale")["partitions"][0]["high_watermark"] == 3


def test_health_ready_and_openapi(broker):
    url = broker.http_url
    assert ok(url, "GET", "/health") == {"status": "ok"}
    assert ok(url, "GET", "/ready") == {"status": "ready"}
    document = ok(url, "GET", "/openapi.json")
    assert document["openapi"].startswith("3.1")
    for path in ["/v1/topics", "/v1/topics/{topic}", "/v1/topics/{topic}/records",
                 "/v1/topics/{topic}/partitions/{partition}/records", "/v1/topics/{topic}/events",
                 "/v1/groups", "/v1/groups/{group}", "/v1/groups/{group}/members",
                 "/v1/groups/{group}/members/{member}", "/v1/groups/{group}/members/{member}/records",
                 "/v1/groups/{group}/members/{member}/commit", "/health", "/ready"]:
        assert path in document["paths"], path


@pytest.mark.wharf_args("--http-body-bytes-max", "4096", "--http-produce-records-max", "10")
def test_bad_input_answers_4xx_with_the_error_named(broker):
    url = broker.http_url
    ok(url, "POST", "/v1/topics", {"name": "strict", "partitions": 2}, expect=201)
    records = "/v1/topics/strict/records"
    assert error_of(call(url, "POST", "/v1/topics/missing/records", {"records": [{"value": 1}]})) == (
        404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert error_of(call(url, "POST", records, raw=b'{"records": [')) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "POST", records, {"records": [{"value": 1, "colour": "red"}]})) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "POST", records, {"format": "text", "records": [{"value": 5}]})) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "POST", records, {"format": "base64", "records": [{"value": "@@"}]})) == (
        400, "INVALID_REQUEST")
    assert error_of(call(url, "POST", records, {"format": "yaml", "records": []})) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "POST", records, {"records": []})) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "POST", records, {"records": [{"value": 1, "partition": 2}]})) == (
        404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert error_of(call(url, "POST", records, {"records": [{"value": i} for i in range(11)]})) == (
        400, "INVALID_REQUEST")
    assert ok(url, "POST", records, {"records": [{"value": i, "partition": 0} for i in range(10)]})["offsets"][-1] == {
        "partition": 0, "offset": 9}
    assert error_of(call(url, "POST", records, raw=b" " * 4097)) == (413, "MESSAGE_TOO_LARGE")
    big = {"records": [{"value": "x" * 5000}]}
    assert error_of(call(url, "POST", records, big)) == (413, "MESSAGE_TOO_LARGE")
    fetch = "/v1/topics/strict/partitions/0/records"
    assert error_of(call(url, "GET", fetch + "?offset=11")) == (416, "OFFSET_OUT_OF_RANGE")
    assert error_of(call(url, "GET", fetch + "?offset=minus")) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "GET", fetch + "?offset=1&timestamp=5")) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "GET", fetch + "?max_records=many")) == (400, "INVALID_REQUEST")
    assert error_of(call(url, "GET", "/v1/topics/strict/partitions/9/records")) == (404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert error_of(call(url, "GET", "/v1/topics/nope/events")) == (404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert error_of(call(url, "POST", "/v1/groups/g/members", {"topics": ["nope"]})) == (404, "UNKNOWN_TOPIC_OR_PARTITION")
    assert error_of(call(url, "POST", "/v1/groups/g/members", {"topics": ["strict"], "auto_offset_reset": "soon"})) == (
        400, "INVALID_REQUEST")
    assert error_of(call(url, "GET", "/v1/groups/nobody")) == (404, "GROUP_ID_NOT_FOUND")
    assert error_of(call(url, "GET", "/v2/everything"))[0] == 404
    # Nothing of the refused requests was written.
    assert ok(url, "GET", "/v1/topics/strict")["partitions"][0]["high_watermark"] == 10


def test_reads_are_read_committed(broker):
    """Records of an aborted transaction never show over HTTP; an open one shows only once committed."""
    create_topic(broker.bootstrap, "txn", partitions=1)
    producer = Producer(producer_config(broker.bootstrap, **{"transactional.id": "http-txn", "enable.idempotence": True}))
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(3):
        producer.produce("txn", value=f"aborted-{i}".encode(), partition=0)
    producer.flush(30)
    producer.abort_transaction(30)
    producer.begin_transaction()
    for i in range(2):
        producer.produce("txn", value=f"committed-{i}".encode(), partition=0)
    producer.flush(30)
    # Open: nothing of it is readable yet.
    page = ok(broker.http_url, "GET", "/v1/topics/txn/partitions/0/records?offset=0&format=text")
    assert page["records"] == []
    producer.commit_transaction(30)
    page = ok(broker.http_url, "GET", "/v1/topics/txn/partitions/0/records?offset=0&format=text")
    # offsets: 0-2 aborted, 3 abort marker, 4-5 committed, 6 commit marker
    assert [(r["offset"], r["value"]) for r in page["records"]] == [(4, "committed-0"), (5, "committed-1")]
    assert page["next_offset"] == 7
