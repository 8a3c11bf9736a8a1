"""One kafka-python group member as a process, so a test can SIGKILL it like a crashed service.

usage: kafka_python_member.py BOOTSTRAP GROUP TOPIC SESSION_TIMEOUT_MS HEARTBEAT_INTERVAL_MS

Speaks the member protocol of group_members.py: one JSON object per stdout line,
{"event": "assigned"|"revoked", "partitions": [...]} from the rebalance listener and
{"event": "record", "partition", "offset", "value"} per record. It commits synchronously after each
non-empty poll, so once every record is printed and the group's offsets reach the log end, nothing
is left to re-deliver. SIGTERM closes the consumer (commit, then LeaveGroup) and exits 0.
"""

import json
import logging
import signal
import sys

from kafka import ConsumerRebalanceListener, KafkaConsumer


# kafka-python 3.0.12 can lose a join: when a poll() times out while its JoinGroup/SyncGroup round
# is in flight, the leader sometimes never applies the SyncGroup answer (seen on the wire, complete
# and correct) and sits in REBALANCING until its session expires. With poll(timeout_ms=10) this
# happened in 4 of 5 runs, with 100 in about 1 of 6 under load, with 1000 in none of 8 under the
# same load. A long poll returns as soon as records arrive, so it costs the test nothing.
POLL_TIMEOUT_MS = 1000


def emit(**event) -> None:
    print(json.dumps(event), flush=True)


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        emit(event="revoked", partitions=sorted(tp.partition for tp in revoked))

    def on_partitions_assigned(self, assigned):
        emit(event="assigned", partitions=sorted(tp.partition for tp in assigned))


def main() -> None:
    bootstrap, group, topic, session_ms, heartbeat_ms = sys.argv[1:6]
    # kafka-python's own log goes to stderr, which the test keeps for a failure report.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"kafka-python-{group}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(session_ms),
        heartbeat_interval_ms=int(heartbeat_ms),
        fetch_max_wait_ms=100,
    )
    consumer.subscribe([topic], listener=Listener())
    while not stopping:
        batches = consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
        for records in batches.values():
            for r in records:
                emit(event="record", partition=r.partition, offset=r.offset, value=r.value.decode())
        if batches:
            consumer.commit()
    consumer.close()


if __name__ == "__main__":
    main()
