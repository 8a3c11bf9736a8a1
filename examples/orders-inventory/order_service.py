"""The order service: it takes orders from customers and publishes each one to the `orders` topic.

Kafka ideas shown here:
- A *topic* is a named, append-only log of records. Records are never changed, only added.
- A topic is split into *partitions* so several consumers can share the work. Each record goes to one
  partition, chosen from its *key*: the same key always lands in the same partition, and within one
  partition records keep the order they were written in. We use the order id as the key, so every
  change to one order is read back in the order it was made.
- `acks=all` means the broker answers only once the record is safely stored (Wharf fsyncs it first).
  When the delivery report says "ok", the order cannot be lost, whoever is or is not reading.

The order service never talks to the inventory service. It only needs the broker, which is why an
inventory outage cannot make an order fail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

ORDERS_TOPIC = "orders"
# Three partitions: enough to show that ordering holds per key, not across the whole topic.
ORDERS_PARTITIONS = 3


@dataclass(frozen=True)
class Order:
    """One version of a customer's order. Revision 0 is the order as placed; each change the customer
    makes afterwards (say, a new quantity) is published as the next revision under the same order id."""

    order_id: str
    revision: int
    sku: str
    quantity: int

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @staticmethod
    def from_json(data: bytes) -> "Order":
        return Order(**json.loads(data))


@dataclass(frozen=True)
class Delivery:
    """The broker's answer for one published order: where it was stored, or why it was not."""

    order: Order
    partition: int
    offset: int
    error: KafkaError | None


def create_orders_topic(bootstrap: str, topic: str = ORDERS_TOPIC, partitions: int = ORDERS_PARTITIONS) -> None:
    """Create the topic up front (it may already exist from an earlier run; that is fine)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic]
    try:
        future.result(timeout=30)
    except KafkaException as err:
        if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise


def make_producer(bootstrap: str) -> Producer:
    return Producer({
        "bootstrap.servers": bootstrap,
        # Wait until the broker has stored the record durably before calling it delivered.
        "acks": "all",
        # Wharf does not implement idempotent producers yet, so turn that feature off explicitly.
        "enable.idempotence": False,
        # Without idempotence, a retried request could overtake a later one and swap two revisions of
        # the same order. One request in flight per connection rules that out.
        "max.in.flight.requests.per.connection": 1,
        # Wait up to 5 ms to put several orders in one request: fewer round trips, fewer fsyncs.
        "linger.ms": 5,
    })


def publish_order(producer: Producer, order: Order, deliveries: list[Delivery], topic: str = ORDERS_TOPIC) -> None:
    """Hand one order to the producer. This returns at once; the broker's answer arrives later as a
    delivery report, which we append to `deliveries` (from inside producer.poll() or flush())."""

    def on_delivery(err, msg):
        deliveries.append(Delivery(order, msg.partition(), msg.offset(), err))

    # The key decides the partition: every revision of one order goes to the same partition.
    producer.produce(topic, key=order.order_id.encode(), value=order.to_json(), on_delivery=on_delivery)
    producer.poll(0)  # serve delivery reports that have already come back


def place_orders(producer: Producer, orders: list[Order], topic: str = ORDERS_TOPIC) -> list[Delivery]:
    """Publish every order and wait for the broker to acknowledge all of them."""
    deliveries: list[Delivery] = []
    for order in orders:
        publish_order(producer, order, deliveries, topic)
    remaining = producer.flush(30)
    if remaining:
        raise RuntimeError(f"{remaining} orders still unacknowledged after 30 s")
    return deliveries


def sample_orders(customers: int, first_id: int = 0) -> list[Order]:
    """Orders from `customers` customers, some changed once or twice after placing. Revisions are
    interleaved with other customers' orders, as they would be in a real shop."""
    revisions = {first_id + n: n % 3 + 1 for n in range(customers)}  # 1, 2 or 3 versions per order
    orders = []
    for revision in range(3):
        for n, count in revisions.items():
            if revision < count:
                orders.append(Order(f"order-{n}", revision, f"sku-{n % 7}", 1 + (n + revision) % 5))
    return orders
