"""Service A, the upstream: it publishes what happened to the `events` topic and knows nothing about
who reads it.

Kafka ideas shown here:
- A producer writes to a topic, not to a receiver. Adding or removing readers never changes A.
- Records are kept after they are read (until retention removes them), so a reader that arrives
  later can still read the past.
- The key (here the account an event is about) picks the partition, so all events of one account
  stay in order.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

EVENTS_TOPIC = "events"
EVENTS_PARTITIONS = 3


@dataclass(frozen=True)
class Event:
    event_id: int
    account: str
    kind: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @staticmethod
    def from_json(data: bytes) -> "Event":
        return Event(**json.loads(data))


def create_events_topic(bootstrap: str, topic: str = EVENTS_TOPIC, partitions: int = EVENTS_PARTITIONS) -> None:
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
        # Delivered means stored durably by the broker.
        "acks": "all",
        # Wharf has no idempotent producer yet.
        "enable.idempotence": False,
        "linger.ms": 5,
    })


def publish_event(producer: Producer, event: Event, failures: list[str], topic: str = EVENTS_TOPIC) -> None:
    """Hand one event to the producer; a delivery failure is appended to `failures` later."""

    def on_delivery(err, msg):
        if err is not None:
            failures.append(f"event {event.event_id}: {err}")

    producer.produce(topic, key=event.account.encode(), value=event.to_json(), on_delivery=on_delivery)
    producer.poll(0)


def publish_events(producer: Producer, events: list[Event], topic: str = EVENTS_TOPIC) -> list[str]:
    """Publish all events and wait for the broker's acknowledgements; returns the failures (if any)."""
    failures: list[str] = []
    for event in events:
        publish_event(producer, event, failures, topic)
    remaining = producer.flush(30)
    if remaining:
        failures.append(f"{remaining} events unacknowledged after 30 s")
    return failures


def sample_events(first_id: int, count: int) -> list[Event]:
    kinds = ["opened", "deposited", "withdrew", "closed"]
    return [Event(n, f"account-{n % 11}", kinds[n % len(kinds)]) for n in range(first_id, first_id + count)]
