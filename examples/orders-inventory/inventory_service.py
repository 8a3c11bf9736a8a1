"""The inventory service: it reads every order from the `orders` topic and reserves stock for it.

Kafka ideas shown here:
- A *consumer group* is a name (here `inventory`) shared by all copies of one service. The broker
  remembers, per group, how far the group has read each partition: its *committed offset*. (An
  offset is a record's position in its partition: 0, 1, 2, ...)
- A group that has never committed starts where `auto.offset.reset` says: `earliest` means the
  oldest record still stored, so orders placed while inventory had never run are not skipped.
- We commit only *after* handling a batch. If the service crashes between handling and committing,
  the batch is read again on restart: nothing is lost, but a record can be seen twice ("at least
  once"). Real handlers should therefore be idempotent, e.g. keyed by (order id, revision).
- When inventory is down, orders simply wait in the topic. On restart the group resumes from its
  committed offsets and receives exactly what it has not handled yet.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException

from order_service import ORDERS_TOPIC, Order

INVENTORY_GROUP = "inventory"


@dataclass(frozen=True)
class ReceivedOrder:
    """An order as the inventory service received it, with where it was read from."""

    order: Order
    partition: int
    offset: int


def make_inventory_consumer(bootstrap: str, group: str = INVENTORY_GROUP) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        # A brand-new group starts from the oldest stored order rather than only new ones.
        "auto.offset.reset": "earliest",
        # We commit ourselves, after handling, instead of on a background timer.
        "enable.auto.commit": False,
        # If this process dies without saying goodbye, the broker gives its partitions to another
        # member of the group after 6 s without a heartbeat.
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        # How long the broker may hold a fetch open waiting for new records (keeps latency low).
        "fetch.wait.max.ms": 100,
    })


def run_inventory(
    bootstrap: str,
    stop_event: threading.Event,
    sink: list[ReceivedOrder],
    *,
    topic: str = ORDERS_TOPIC,
    group: str = INVENTORY_GROUP,
    ready: threading.Event | None = None,
) -> None:
    """Consume orders until `stop_event` is set, appending each to `sink` ("reserving stock").

    `ready` is set once the group has given this consumer its partitions.
    """
    consumer = make_inventory_consumer(bootstrap, group)

    def on_assign(consumer, partitions):
        # Called when the group's rebalance hands this member its partitions.
        if ready is not None:
            ready.set()

    # subscribe() joins the group; the broker decides which partitions this member reads.
    consumer.subscribe([topic], on_assign=on_assign)
    try:
        while not stop_event.is_set():
            # Up to 100 records, in order within each partition; an empty list after 0.2 s if none.
            messages = consumer.consume(num_messages=100, timeout=0.2)
            for msg in messages:
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                sink.append(ReceivedOrder(Order.from_json(msg.value()), msg.partition(), msg.offset()))
            if messages:
                # Handled: now record our position in the group. Synchronous, so when this returns the
                # broker has stored (and fsynced) the committed offsets.
                consumer.commit(asynchronous=False)
    finally:
        # Leave the group now rather than after the session timeout.
        consumer.close()


def reserved_stock(received: list[ReceivedOrder]) -> dict[str, int]:
    """Units reserved per SKU: the latest revision of each order counts. This is why per-key order
    matters: applying revision 1 after revision 2 would reserve the wrong quantity."""
    latest: dict[str, Order] = {}
    for item in received:
        latest[item.order.order_id] = item.order
    totals: dict[str, int] = {}
    for order in latest.values():
        totals[order.sku] = totals.get(order.sku, 0) + order.quantity
    return dict(sorted(totals.items()))
