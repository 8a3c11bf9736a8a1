"""Services B, C, D (and later E): each reads every event from `events` on its own.

Kafka ideas shown here:
- Each service uses its *own consumer group*. The broker keeps a separate committed offset (a
  bookmark: "read up to here") per group and partition, so the groups never take records from each
  other; each one sees the whole topic. (Copies of *one* service would share a group name and split
  the partitions between them instead.)
- `auto.offset.reset` says where a group with no bookmark yet starts: `earliest` = the oldest record
  still stored, `latest` = only records written after it joins. A new service E with `earliest`
  therefore gets the full history first, then new events as they come.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException

from upstream import EVENTS_TOPIC, Event


@dataclass(frozen=True)
class ReceivedEvent:
    event: Event
    partition: int
    offset: int


def make_subscriber(bootstrap: str, group: str, offset_reset: str = "earliest") -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": offset_reset,
        # Commit ourselves, after handling each batch.
        "enable.auto.commit": False,
        # A member that stops heartbeating is dropped from its group after 6 s.
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
    })


def run_subscriber(
    bootstrap: str,
    group: str,
    stop_event: threading.Event,
    sink: list[ReceivedEvent],
    *,
    topic: str = EVENTS_TOPIC,
    offset_reset: str = "earliest",
    ready: threading.Event | None = None,
) -> None:
    """Consume `topic` as consumer group `group` until `stop_event` is set, appending to `sink`.

    `ready` is set once the group has assigned this consumer its partitions.
    """
    consumer = make_subscriber(bootstrap, group, offset_reset)
    consumer.subscribe([topic], on_assign=lambda c, partitions: ready.set() if ready is not None else None)
    try:
        while not stop_event.is_set():
            messages = consumer.consume(num_messages=100, timeout=0.2)
            for msg in messages:
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                sink.append(ReceivedEvent(Event.from_json(msg.value()), msg.partition(), msg.offset()))
            if messages:
                # Move this group's bookmark past what we just handled (other groups are unaffected).
                consumer.commit(asynchronous=False)
    finally:
        consumer.close()
