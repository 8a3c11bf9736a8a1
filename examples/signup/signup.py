"""The sign-up function: it records that a user registered and returns straight away.

Sending the welcome e-mail and the SMS code is not its job. It writes one `user-registered` event
and lets whoever cares read it later. So sign-up stays fast even when the mail or SMS provider is
slow or down.

Kafka ideas shown here:
- `producer.produce()` does not wait for the broker. It puts the record in the producer's memory
  and returns; a background thread sends records in batches, and the broker's answer comes back as
  a *delivery report* later. That is why `sign_up` returns in microseconds.
- With `acks=all` that report means "stored durably". Until it arrives, the event lives only in
  this process: call `producer.flush()` before the process exits, and watch the delivery reports for
  failures (here they are collected in a list).
- The user id is the key, so all events about one user go to the same partition, in order.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

SIGNUPS_TOPIC = "user-registered"
SIGNUPS_PARTITIONS = 2


@dataclass(frozen=True)
class UserRegistered:
    user_id: str
    email: str
    phone: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @staticmethod
    def from_json(data: bytes) -> "UserRegistered":
        return UserRegistered(**json.loads(data))


def create_signups_topic(bootstrap: str, topic: str = SIGNUPS_TOPIC, partitions: int = SIGNUPS_PARTITIONS) -> None:
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
        # A delivery report means the event is on the broker's disk.
        "acks": "all",
        # Wharf has no idempotent producer yet.
        "enable.idempotence": False,
        # Gather sign-ups for up to 5 ms into one request; sign_up itself never waits for this.
        "linger.ms": 5,
    })


def sign_up(producer: Producer, email: str, phone: str, failures: list[str], topic: str = SIGNUPS_TOPIC) -> str:
    """Register a user: publish `user-registered` and return the new user id without waiting.

    A failed delivery (reported later) is appended to `failures`.
    """
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    event = UserRegistered(user_id, email, phone)

    def on_delivery(err, msg):
        if err is not None:
            failures.append(f"{user_id}: {err}")

    producer.produce(topic, key=user_id.encode(), value=event.to_json(), on_delivery=on_delivery)
    producer.poll(0)  # run delivery reports that are already back; never blocks
    return user_id
