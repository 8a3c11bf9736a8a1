"""A flash sale on Wharf: every order goes into a queue with a maximum length; past it, orders are
refused at once (the shop shows "sold out / try again later") while fulfilment works through the
queue at its own pace. This is peak shaving, the third job a message broker does.

Kafka ideas shown here:
- A topic config, set when the topic is created: `max.backlog.messages` caps how far the newest
  order may run ahead of what the `fulfilment` consumer group has committed (`backlog.group`).
  Plain Kafka has no such cap; Wharf adds it (docs/BACKLOG.md).
- When the queue is full the broker answers the produce with POLICY_VIOLATION. It is a final
  answer, not a retry-later one, so the producer does not keep re-sending: the delivery report
  carries the error at once and the application can tell the customer.
- The consumer *commits* its position (here every 100 ms). The backlog is measured from that
  commit, so committing often is what lets new orders in as soon as old ones are done.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

QUEUE_MAX = 10_000


@dataclass
class Timeline:
    """What the sampler saw every 100 ms: time, backlog, orders refused so far, processed so far."""

    t: list[float] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    processed: list[int] = field(default_factory=list)


@dataclass
class Outcome:
    accepted: list[bytes]
    rejected: int
    processed: list[bytes]
    burst_s: float
    timeline: Timeline
    # Seconds from produce() to the refusal in the delivery report (librdkafka's msg.latency()),
    # including the producer's own batching (linger.ms=1).
    refusal_latency_s: list[float]


def create_orders_topic(bootstrap: str, topic: str, group: str, queue_max: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    config = {
        "max.backlog.messages": str(queue_max),  # the queue's maximum length
        "backlog.group": group,                  # measured from fulfilment's committed offset
        "backlog.overflow.policy": "reject",     # past it: refuse new orders at once
    }
    future = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=config)])[topic]
    future.result(timeout=30)


def fulfil(bootstrap: str, topic: str, group: str, per_second: int, done: threading.Event, out: list[bytes],
           counter: list[int]) -> None:
    """The slow business: handles `per_second` orders a second and commits every 100 ms."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,  # commit by hand, below, so the backlog follows our progress
    })
    consumer.subscribe([topic])
    started = time.monotonic()
    last_commit = started
    while not done.is_set():
        for msg in consumer.consume(num_messages=100, timeout=0.05):
            if msg.error():
                raise KafkaException(msg.error())
            out.append(msg.value())
            counter[0] += 1
            # Pace ourselves: order n is finished no earlier than n / per_second after the start.
            wait = started + len(out) / per_second - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        if time.monotonic() - last_commit >= 0.1 and out:
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as err:
                if err.args[0].code() != KafkaError._NO_OFFSET:  # nothing new since last time
                    raise
            last_commit = time.monotonic()
    consumer.close()


def sample(bootstrap: str, topic: str, group: str, stop: threading.Event, rejected: list[int],
           processed: list[int], timeline: Timeline) -> None:
    """Every 100 ms: backlog = newest offset - fulfilment's committed offset."""
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    tp = TopicPartition(topic, 0)
    start = time.monotonic()
    while not stop.is_set():
        _, high = watcher.get_watermark_offsets(tp, timeout=5)
        [committed] = watcher.committed([tp], timeout=5)
        timeline.t.append(time.monotonic() - start)
        timeline.backlog.append(high - max(committed.offset, 0))
        timeline.rejected.append(rejected[0])
        timeline.processed.append(processed[0])
        stop.wait(0.1)
    watcher.close()


def run_flash_sale(bootstrap: str, orders: int = 200_000, per_second: int = 2_000,
                   queue_max: int = QUEUE_MAX, suffix: str | None = None) -> Outcome:
    suffix = suffix or uuid.uuid4().hex[:8]
    topic, group = f"flash-sale-orders-{suffix}", f"fulfilment-{suffix}"
    create_orders_topic(bootstrap, topic, group, queue_max)

    accepted: list[bytes] = []
    rejected = [0]
    refusal_latency_s: list[float] = []
    processed: list[bytes] = []
    processed_count = [0]
    timeline = Timeline()
    stop_sampler, stop_fulfilment = threading.Event(), threading.Event()
    sampler = threading.Thread(target=sample, args=(bootstrap, topic, group, stop_sampler, rejected,
                                                    processed_count, timeline))
    worker = threading.Thread(target=fulfil, args=(bootstrap, topic, group, per_second, stop_fulfilment,
                                                   processed, processed_count))
    sampler.start()
    worker.start()

    def on_delivery(err, msg):
        if err is None:
            accepted.append(msg.value())
        elif err.code() == KafkaError.POLICY_VIOLATION:  # the queue is full: "sold out, try later"
            rejected[0] += 1
            refusal_latency_s.append(msg.latency())
        else:
            raise KafkaException(err)

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 1,
                         "enable.idempotence": False})
    started = time.monotonic()
    for i in range(orders):
        while True:
            try:
                producer.produce(topic, value=f"order-{i}".encode(), on_delivery=on_delivery)
                break
            except BufferError:  # the producer's own memory is full: let it send, then go on
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    burst_s = time.monotonic() - started

    deadline = time.monotonic() + 60 + len(accepted) / per_second
    while len(processed) < len(accepted):
        if time.monotonic() > deadline:
            raise TimeoutError(f"fulfilment processed {len(processed)} of {len(accepted)}")
        time.sleep(0.05)
    time.sleep(0.3)  # one more commit and sample after the last order
    stop_fulfilment.set()
    worker.join()
    stop_sampler.set()
    sampler.join()
    return Outcome(accepted, rejected[0], processed, burst_s, timeline, refusal_latency_s)


def plot(timeline: Timeline, queue_max: int, path: str) -> None:
    """Backlog and refusals over time, as a PNG (matplotlib without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    top.plot(timeline.t, timeline.backlog, label="backlog (orders waiting)")
    top.axhline(queue_max, color="red", linestyle="--", label=f"max.backlog.messages = {queue_max}")
    top.set_ylabel("orders")
    top.legend(loc="upper right")
    top.set_title("Flash sale: 200,000 orders in a burst, fulfilment at 2,000/s")
    bottom.plot(timeline.t, timeline.rejected, color="tab:orange", label="refused so far")
    bottom.plot(timeline.t, timeline.processed, color="tab:green", label="fulfilled so far")
    bottom.set_xlabel("seconds")
    bottom.set_ylabel("orders")
    bottom.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
