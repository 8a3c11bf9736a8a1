"""Sign-up returns at once; the e-mail worker (pull) and the SMS worker (push) work in the background.

Run against a broker with its HTTP gateway (`wharf serve` in another terminal):

    python examples/signup/main.py [--bootstrap 127.0.0.1:9092] [--http http://127.0.0.1:8080] [--users 200]

Starts the registration service, the e-mail worker (a Kafka consumer in its own group) and the SMS
worker (a webhook Wharf pushes to), signs up users one by one over HTTP while timing each call, then
waits until both workers have handled every registration. Exits with status 1 if the e-mail worker
misses a registration or handles one twice, or the SMS worker misses one (push is at-least-once, so
a repeat SMS is possible after a broker restart; none is expected here).
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

from signup import SignupService, create_signups_topic, post_signup  # noqa: E402
from workers import run_email_worker, run_sms_worker  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka address (default %(default)s)")
    parser.add_argument("--http", default="http://127.0.0.1:8080", help="Wharf's HTTP gateway (default %(default)s)")
    parser.add_argument("--users", type=int, default=200, help="how many users sign up (default %(default)s)")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:6]  # fresh names per run, so runs do not see each other's records
    topic, email_group, sms_group = f"signups-{run}", f"email-{run}", f"sms-{run}"
    print(f"topic {topic}; groups {email_group} (pull), {sms_group} (push)")
    create_signups_topic(args.http, topic)
    service = SignupService(args.http, topic)

    emails: list[tuple[str, str]] = []
    texts: list[tuple[str, str]] = []
    stop = threading.Event()
    ready = [threading.Event(), threading.Event()]
    workers = [
        threading.Thread(target=run_email_worker, args=(args.bootstrap, stop, emails),
                         kwargs={"group": email_group, "topic": topic, "ready": ready[0]}),
        threading.Thread(target=run_sms_worker, args=(args.http, stop, texts),
                         kwargs={"name": f"sms-{run}", "group": sms_group, "topic": topic, "ready": ready[1]}),
    ]
    for worker in workers:
        worker.start()
    users: list[str] = []
    took_ms: list[float] = []
    try:
        for r in ready:
            r.wait(30)
        for n in range(args.users):
            started = time.perf_counter()
            users.append(post_signup(service.url, f"person{n}@example.com", f"+1555{n:07d}"))
            took_ms.append((time.perf_counter() - started) * 1e3)
        print(f"{len(users)} sign-ups; each took median {statistics.median(took_ms):.1f} ms, max {max(took_ms):.1f} ms")
        deadline = time.monotonic() + 30
        while (len(emails) < len(users) or len(set(t for t, _ in texts)) < len(users)) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a little longer, so a duplicate would show up too
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        service.close()

    print(f"e-mail worker sent {len(emails)} mails, e.g. {emails[0][1] if emails else '-'}")
    print(f"SMS worker sent {len(texts)} texts, e.g. {texts[0][1] if texts else '-'}")
    problems = []
    if Counter(user_id for user_id, _ in emails) != Counter(users):
        problems.append("e-mail worker did not handle every registration exactly once")
    if {user_id for user_id, _ in texts} != set(users):
        problems.append("SMS worker did not get every registration")
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK: every registration mailed once and texted" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
