"""The e-mail worker and the SMS worker: each reads every `user-registered` event in the background.

Kafka ideas shown here:
- Each worker has its own consumer group (`email-worker`, `sms-worker`), so each gets every event.
  To run three copies of the e-mail worker for more throughput, start them with the same group
  name: the topic's partitions are then split between the copies, and each event is still handled
  by only one of them.
- A worker commits its offsets after it has handled a batch. If it crashes before the commit, that
  batch is delivered again when it restarts; sending a welcome e-mail twice is then possible, which
  is why real senders remember which user ids they have already handled.
"""

from __future__ import annotations

import threading
from typing import Callable

from confluent_kafka import Consumer, KafkaException

from signup import SIGNUPS_TOPIC, UserRegistered

EMAIL_GROUP = "email-worker"
SMS_GROUP = "sms-worker"


def make_worker_consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        # A new group begins with the oldest stored event, so no registration is skipped.
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
    })


def run_worker(
    bootstrap: str,
    group: str,
    handle: Callable[[UserRegistered], None],
    stop_event: threading.Event,
    *,
    topic: str = SIGNUPS_TOPIC,
    ready: threading.Event | None = None,
) -> None:
    """Call `handle` for each registration read by consumer group `group`, until `stop_event` is set."""
    consumer = make_worker_consumer(bootstrap, group)
    consumer.subscribe([topic], on_assign=lambda c, partitions: ready.set() if ready is not None else None)
    try:
        while not stop_event.is_set():
            messages = consumer.consume(num_messages=100, timeout=0.2)
            for msg in messages:
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                handle(UserRegistered.from_json(msg.value()))
            if messages:
                consumer.commit(asynchronous=False)  # handled, so move this group's bookmark on
    finally:
        consumer.close()


def run_email_worker(
    bootstrap: str, stop_event: threading.Event, sink: list[tuple[str, str]], *, group: str = EMAIL_GROUP, **kwargs
) -> None:
    """"Send" a welcome e-mail per registration: append (user id, mail) to `sink`, our stand-in outbox."""
    run_worker(bootstrap, group, lambda user: sink.append((user.user_id, f"welcome mail to {user.email}")), stop_event, **kwargs)


def run_sms_worker(
    bootstrap: str, stop_event: threading.Event, sink: list[tuple[str, str]], *, group: str = SMS_GROUP, **kwargs
) -> None:
    """"Send" a verification SMS per registration: append (user id, text) to `sink`."""
    run_worker(bootstrap, group, lambda user: sink.append((user.user_id, f"sms code to {user.phone}")), stop_event, **kwargs)
