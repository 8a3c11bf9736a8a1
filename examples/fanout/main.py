"""Fan-out: one publisher, many independent readers, and a reader added later that sees the past.

Run against a broker (`wharf serve` in another terminal):

    python examples/fanout/main.py [--bootstrap 127.0.0.1:9092]

1. Services B, C and D start, each in its own consumer group.
2. Service A publishes events; B, C and D each receive all of them.
3. A new service E is added (a new group, auto.offset.reset=earliest) without touching A: it first
   receives every event published so far.
4. A publishes more events; B, C, D and E each receive those too.

Exits with status 1 if any service misses an event or gets one twice.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from downstream import ReceivedEvent, run_subscriber  # noqa: E402
from upstream import Event, create_events_topic, make_producer, publish_events, sample_events  # noqa: E402


class Service:
    """One downstream service running in a background thread, with what it has received."""

    def __init__(self, name: str, bootstrap: str, group: str, topic: str):
        self.name = name
        self.received: list[ReceivedEvent] = []
        self.ready = threading.Event()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=run_subscriber,
            args=(bootstrap, group, self.stop_event, self.received),
            kwargs={"topic": topic, "ready": self.ready},
            name=name,
        )
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join()


def wait_for(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def problems_with(service: Service, expected: list[Event]) -> list[str]:
    got = Counter(r.event for r in service.received)
    missing = [e.event_id for e in expected if e not in got]
    repeated = [e.event_id for e, n in got.items() if n > 1]
    extra = [e.event_id for e in got if e not in set(expected)]
    return [f"{service.name}: {label} {ids[:10]}" for label, ids in (("missing", missing), ("repeated", repeated), ("unexpected", extra)) if ids]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="broker address (default %(default)s)")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:6]  # fresh names per run, so runs do not see each other's events
    topic = f"events-{run}"
    print(f"topic {topic}; groups service-b/c/d/e-{run}")
    create_events_topic(args.bootstrap, topic)
    producer = make_producer(args.bootstrap)

    services = [Service(name, args.bootstrap, f"service-{name[-1].lower()}-{run}", topic) for name in ("B", "C", "D")]
    try:
        wait_for(lambda: all(s.ready.is_set() for s in services))
        history = sample_events(0, 300)
        failures = publish_events(producer, history, topic)
        print(f"A published {len(history)} events ({len(failures)} failed)")
        wait_for(lambda: all(len(s.received) >= len(history) for s in services))
        for s in services:
            print(f"  {s.name} received {len(s.received)}")

        e = Service("E", args.bootstrap, f"service-e-{run}", topic)
        services.append(e)
        wait_for(lambda: len(e.received) >= len(history))
        print(f"new service E joined and received {len(e.received)} events from the history")

        newer = sample_events(300, 100)
        failures += publish_events(producer, newer, topic)
        print(f"A published {len(newer)} more events")
        wait_for(lambda: all(len(s.received) >= len(history) + len(newer) for s in services))
        time.sleep(0.5)  # a little longer, so a duplicate would show up too
    finally:
        for s in services:
            s.stop()

    problems = failures + [p for s in services for p in problems_with(s, history + newer)]
    for s in services:
        print(f"  {s.name} received {len(s.received)} events in total")
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK: B, C, D and E each received every event exactly once" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
