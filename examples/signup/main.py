"""Sign-up returns at once; e-mail and SMS are sent in the background, each exactly once.

Run against a broker (`wharf serve` in another terminal):

    python examples/signup/main.py [--bootstrap 127.0.0.1:9092] [--users 200]

Starts the e-mail worker and the SMS worker (each its own consumer group), signs up users one by
one while timing each `sign_up` call, then waits until both workers have handled every
registration. Exits with status 1 if a worker misses a registration or handles one twice.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from signup import create_signups_topic, make_producer, sign_up  # noqa: E402
from workers import run_email_worker, run_sms_worker  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="broker address (default %(default)s)")
    parser.add_argument("--users", type=int, default=200, help="how many users sign up (default %(default)s)")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:6]  # fresh names per run, so runs do not see each other's events
    topic = f"user-registered-{run}"
    print(f"topic {topic}; groups email-worker-{run}, sms-worker-{run}")
    create_signups_topic(args.bootstrap, topic)

    emails: list[tuple[str, str]] = []
    texts: list[tuple[str, str]] = []
    stop = threading.Event()
    ready = [threading.Event(), threading.Event()]
    workers = [
        threading.Thread(target=run_email_worker, args=(args.bootstrap, stop, emails), kwargs={"group": f"email-worker-{run}", "topic": topic, "ready": ready[0]}),
        threading.Thread(target=run_sms_worker, args=(args.bootstrap, stop, texts), kwargs={"group": f"sms-worker-{run}", "topic": topic, "ready": ready[1]}),
    ]
    for worker in workers:
        worker.start()
    producer = make_producer(args.bootstrap)
    failures: list[str] = []
    users: list[str] = []
    took_us: list[float] = []
    try:
        for r in ready:
            r.wait(30)
        for n in range(args.users):
            started = time.perf_counter()
            users.append(sign_up(producer, f"person{n}@example.com", f"+1555{n:07d}", failures, topic))
            took_us.append((time.perf_counter() - started) * 1e6)
        print(f"{len(users)} sign-ups; each call took median {statistics.median(took_us):.0f} us, max {max(took_us):.0f} us")
        producer.flush(30)  # before exiting: wait until the broker has acknowledged every event
        deadline = time.monotonic() + 30
        while (len(emails) < len(users) or len(texts) < len(users)) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a little longer, so a duplicate would show up too
    finally:
        stop.set()
        for worker in workers:
            worker.join()

    print(f"e-mail worker sent {len(emails)} mails, e.g. {emails[0][1] if emails else '-'}")
    print(f"SMS worker sent {len(texts)} texts, e.g. {texts[0][1] if texts else '-'}")
    expected = Counter(users)
    problems = list(failures)
    for name, outbox in (("e-mail", emails), ("SMS", texts)):
        if Counter(user_id for user_id, _ in outbox) != expected:
            problems.append(f"{name} worker did not handle every registration exactly once")
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK: every registration handled once by each worker" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
