"""The programs under examples/ against a real broker, with exact assertions on what each consumer got.

Proves: (orders-inventory) orders placed while no inventory consumer runs are all acknowledged
(acks=all) at contiguous offsets; inventory, started afterwards as a new group, receives every order
exactly once at the offset its delivery report named, each order id's revisions in order and in one
partition; after it stops, orders placed meanwhile are received exactly once on restart (nothing
older), and the group's committed offsets equal the log end offsets. (fanout) B, C and D, each its
own group, each receive every event exactly once, in offset order per partition; a group E added
later with auto.offset.reset=earliest receives the whole history first and then the new events,
exactly once. (signup) users signing up over HTTP through the registration service (which writes
via Wharf's HTTP API; its latency is printed, not asserted) are each mailed exactly once by the
pulling e-mail worker and texted at least once by the SMS worker Wharf pushes to, after which the
SMS group's offsets stand at the end of the topic. Each example's main.py also runs as a person would
run it and reports success.

Every consumer here is the only member of its group, so no rebalance can re-deliver a record and
"exactly once" is the right assertion.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
for example in ("orders-inventory", "fanout", "signup"):
    sys.path.insert(0, str(EXAMPLES / example))

from downstream import run_subscriber  # noqa: E402
from inventory_service import INVENTORY_GROUP, run_inventory  # noqa: E402
from order_service import ORDERS_PARTITIONS, ORDERS_TOPIC, create_orders_topic, make_producer, place_orders, sample_orders  # noqa: E402
from signup import SIGNUPS_PARTITIONS, SIGNUPS_TOPIC, SignupService, create_signups_topic, post_signup  # noqa: E402
from upstream import create_events_topic, publish_events, sample_events  # noqa: E402
from upstream import make_producer as make_events_producer  # noqa: E402
from workers import SMS_GROUP, run_email_worker, run_sms_worker  # noqa: E402

WAIT_S = 30.0
# After a consumer has everything expected, keep it polling this long so a duplicate would arrive.
SETTLE_S = 0.5


class Background:
    """One example consumer (`run_*(…, stop_event, sink, …)`) in a thread, keeping its exception."""

    def __init__(self, target, *args, **kwargs):
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.sink: list = []
        self.error: BaseException | None = None

        def body():
            try:
                target(*args, self.stop_event, self.sink, ready=self.ready, **kwargs)
            except BaseException as err:  # noqa: BLE001 - re-raised in the test thread
                self.error = err

        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def check(self) -> None:
        if self.error is not None:
            raise self.error
        assert self.thread.is_alive(), "consumer thread ended early"

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "consumer did not stop"
        if self.error is not None:
            raise self.error


def wait_until(condition, what: str, running: list[Background]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        for b in running:
            b.check()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def settle(running: list[Background]) -> None:
    time.sleep(SETTLE_S)
    for b in running:
        b.check()


def test_orders_placed_while_inventory_down_arrive_once_in_order_per_key(broker):
    create_orders_topic(broker.bootstrap)
    producer = make_producer(broker.bootstrap)

    # No inventory consumer exists yet; every order is still acknowledged.
    first = sample_orders(customers=150)
    deliveries = place_orders(producer, first)
    assert [d.error for d in deliveries] == [None] * len(first)
    assert sorted((d.order for d in deliveries), key=str) == sorted(first, key=str)
    by_partition = defaultdict(list)
    for d in deliveries:
        by_partition[d.partition].append(d.offset)
    assert {p: sorted(o) for p, o in by_partition.items()} == {p: list(range(len(o))) for p, o in by_partition.items()}
    where = {d.order: (d.partition, d.offset) for d in deliveries}

    inventory = Background(run_inventory, broker.bootstrap)
    try:
        wait_until(lambda: len(inventory.sink) >= len(first), "inventory to catch up", [inventory])
        settle([inventory])
    finally:
        inventory.stop()
    received = inventory.sink
    assert Counter(r.order for r in received) == Counter(first), "every order exactly once"
    assert all((r.partition, r.offset) == where[r.order] for r in received)
    revisions, partitions = defaultdict(list), defaultdict(set)
    for r in received:
        revisions[r.order.order_id].append(r.order.revision)
        partitions[r.order.order_id].add(r.partition)
    assert all(revs == list(range(len(revs))) for revs in revisions.values()), "revisions in order per key"
    assert all(len(ps) == 1 for ps in partitions.values()), "one order id, one partition"

    # Inventory is down again; the orders placed meanwhile, and only those, arrive on restart.
    second = sample_orders(customers=30, first_id=1000)
    assert [d.error for d in place_orders(producer, second)] == [None] * len(second)
    inventory = Background(run_inventory, broker.bootstrap)
    try:
        wait_until(lambda: len(inventory.sink) >= len(second), "restarted inventory", [inventory])
        settle([inventory])
    finally:
        inventory.stop()
    assert Counter(r.order for r in inventory.sink) == Counter(second)

    # The group's bookmarks are at the end of every partition: nothing left unhandled.
    probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": INVENTORY_GROUP, "enable.auto.commit": False})
    try:
        tps = [TopicPartition(ORDERS_TOPIC, p) for p in range(ORDERS_PARTITIONS)]
        committed = {tp.partition: tp.offset for tp in probe.committed(tps, timeout=10)}
        ends = {p: probe.get_watermark_offsets(TopicPartition(ORDERS_TOPIC, p), timeout=10)[1] for p in range(ORDERS_PARTITIONS)}
    finally:
        probe.close()
    assert committed == ends and sum(ends.values()) == len(first) + len(second)


def assert_once_in_offset_order(received, expected_ids: list[int], name: str) -> None:
    assert Counter(r.event.event_id for r in received) == Counter(expected_ids), f"{name}: every event exactly once"
    per_partition = defaultdict(list)
    for r in received:
        per_partition[r.partition].append(r.offset)
    for p, offsets in per_partition.items():
        assert offsets == list(range(len(offsets))), f"{name}: partition {p} read in offset order from 0"


def test_fanout_each_group_gets_every_event_and_late_group_gets_history(broker):
    create_events_topic(broker.bootstrap)
    producer = make_events_producer(broker.bootstrap)
    services = {name: Background(run_subscriber, broker.bootstrap, f"service-{name}") for name in "bcd"}
    running = list(services.values())
    try:
        wait_until(lambda: all(s.ready.is_set() for s in running), "B, C, D assigned", running)
        history = sample_events(0, 600)
        assert publish_events(producer, history) == []
        wait_until(lambda: all(len(s.sink) >= len(history) for s in running), "B, C, D to read the history", running)

        # E is added later, without touching A: a new group that starts from the earliest offset.
        services["e"] = Background(run_subscriber, broker.bootstrap, "service-e", offset_reset="earliest")
        running = list(services.values())
        wait_until(lambda: len(services["e"].sink) >= len(history), "E to read the history", running)
        e_history = list(services["e"].sink)

        newer = sample_events(600, 200)
        assert publish_events(producer, newer) == []
        total = len(history) + len(newer)
        wait_until(lambda: all(len(s.sink) >= total for s in running), "every service to read the new events", running)
        settle(running)
    finally:
        for s in running:
            s.stop()

    all_ids = [e.event_id for e in history + newer]
    for name, s in services.items():
        assert_once_in_offset_order(s.sink, all_ids, name.upper())
    assert Counter(r.event.event_id for r in e_history) == Counter(e.event_id for e in history), "E got the full history"


def test_signup_service_email_pull_exactly_once_and_sms_push_every_user(broker):
    create_signups_topic(broker.http_url)
    service = SignupService(broker.http_url)
    email = Background(run_email_worker, broker.bootstrap)
    sms = Background(run_sms_worker, broker.http_url)
    running = [email, sms]
    users, took_ms = [], []
    try:
        wait_until(lambda: all(w.ready.is_set() for w in running), "e-mail worker assigned, SMS subscribed", running)
        for n in range(200):
            started = time.perf_counter()
            users.append(post_signup(service.url, f"person{n}@example.com", f"+1555{n:07d}"))
            took_ms.append((time.perf_counter() - started) * 1e3)
        print(f"\nPOST /signup took median {statistics.median(took_ms):.1f} ms, max {max(took_ms):.1f} ms over {len(users)} calls")
        wait_until(lambda: len(email.sink) >= len(users) and {u for u, _ in sms.sink} >= set(users),
                   "workers to handle every sign-up", running)
        settle(running)
    finally:
        for w in running:
            w.stop()
        service.close()

    assert len(set(users)) == len(users)
    assert Counter(user_id for user_id, _ in email.sink) == Counter(users), "e-mail: every registration exactly once"
    assert {user_id for user_id, _ in sms.sink} == set(users), "SMS: every registration at least once"
    assert dict(email.sink)[users[7]] == "welcome mail to person7@example.com"
    assert dict(sms.sink)[users[7]] == "sms code to +15550000007"
    # The SMS worker unsubscribed on stop; group `sms` kept its offsets at the end of the topic.
    probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": SMS_GROUP, "enable.auto.commit": False})
    try:
        tps = [TopicPartition(SIGNUPS_TOPIC, p) for p in range(SIGNUPS_PARTITIONS)]
        committed = sum(tp.offset for tp in probe.committed(tps, timeout=10))
    finally:
        probe.close()
    assert committed == len(users)


@pytest.mark.parametrize("example", ["orders-inventory", "fanout", "signup"])
def test_example_main_runs_end_to_end(broker, example):
    extra = ["--http", broker.http_url] if example == "signup" else []
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / example / "main.py"), "--bootstrap", broker.bootstrap, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nOK: " in result.stdout
