"""Orders keep flowing while inventory is down.

Run against a broker (`wharf serve` in another terminal):

    python examples/orders-inventory/main.py [--bootstrap 127.0.0.1:9092]

1. The order service places orders while no inventory service is running: every order is
   acknowledged by the broker anyway.
2. Inventory starts (a new consumer group) and receives every order once, each order's revisions in
   the order they were made.
3. Inventory stops; more orders are placed; inventory restarts and receives only the new ones,
   because the group's committed offsets say where it stopped.

Exits with status 1 if any of that does not hold.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inventory_service import ReceivedOrder, reserved_stock, run_inventory  # noqa: E402
from order_service import Order, create_orders_topic, make_producer, place_orders, sample_orders  # noqa: E402


def receive_orders(bootstrap: str, topic: str, group: str, expected: int, timeout_s: float = 30.0) -> list[ReceivedOrder]:
    """Run inventory in the background until it has received `expected` orders, then stop it."""
    received: list[ReceivedOrder] = []
    stop = threading.Event()
    worker = threading.Thread(target=run_inventory, args=(bootstrap, stop, received), kwargs={"topic": topic, "group": group})
    worker.start()
    deadline = time.monotonic() + timeout_s
    while len(received) < expected and time.monotonic() < deadline and worker.is_alive():
        time.sleep(0.05)
    time.sleep(0.5)  # a little longer, so a duplicate would show up too
    stop.set()
    worker.join()
    return received


def problems_with(received: list[ReceivedOrder], placed: list[Order]) -> list[str]:
    """What is wrong with what inventory received, compared with what was placed (empty if nothing)."""
    problems = []
    got = [r.order for r in received]
    if sorted(got, key=str) != sorted(placed, key=str):
        problems.append(f"received {len(got)} orders ({len(set(got))} distinct), placed {len(placed)}")
    last_revision: dict[str, int] = {}
    for order in got:
        if order.revision != last_revision.get(order.order_id, -1) + 1:
            problems.append(f"{order.order_id} revision {order.revision} arrived out of order")
        last_revision[order.order_id] = order.revision
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="broker address (default %(default)s)")
    args = parser.parse_args()

    # A fresh topic and group per run, so running this twice against one broker starts clean.
    run = uuid.uuid4().hex[:6]
    topic, group = f"orders-{run}", f"inventory-{run}"
    print(f"topic {topic}, consumer group {group}")
    create_orders_topic(args.bootstrap, topic)
    producer = make_producer(args.bootstrap)

    # 1. Inventory is not running. Orders still succeed: they only need the broker.
    first = sample_orders(customers=40)
    deliveries = place_orders(producer, first, topic)
    failed = [d for d in deliveries if d.error is not None]
    print(f"inventory down: placed {len(first)} order events, {len(deliveries) - len(failed)} acknowledged, {len(failed)} failed")

    # 2. Inventory comes up and catches up on everything it missed.
    received = receive_orders(args.bootstrap, topic, group, len(first))
    per_partition = {p: sum(1 for r in received if r.partition == p) for p in sorted({r.partition for r in received})}
    print(f"inventory up: received {len(received)} order events, per partition {per_partition}")
    print(f"reserved stock: {reserved_stock(received)}")
    problems = [f"order not acknowledged: {d.order} ({d.error})" for d in failed] + problems_with(received, first)

    # 3. Down again; more orders; back up: only the new orders arrive (committed offsets).
    second = sample_orders(customers=10, first_id=1000)
    deliveries = place_orders(producer, second, topic)
    problems += [f"order not acknowledged: {d.order} ({d.error})" for d in deliveries if d.error is not None]
    resumed = receive_orders(args.bootstrap, topic, group, len(second))
    print(f"inventory restarted: received {len(resumed)} order events (placed while it was down: {len(second)})")
    problems += problems_with(resumed, second)

    for problem in problems:
        print("PROBLEM:", problem)
    print("OK: every order acknowledged, received once, in order per order id" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
