"""Long-poll cost and wake-up latency of a running broker, measured with confluent-kafka.

1. An idle consumer (fetch.wait.max.ms=500) waits on an empty partition for IDLE_SECONDS; the
   broker's CPU time over that window (from /proc/PID/stat) is reported as % of one core.
2. While the consumer waits, SAMPLES records are produced one at a time (linger.ms=0, acks=1),
   each carrying its send time; the consumer's receive time minus that is the delivery latency.

usage: longpoll.py BOOTSTRAP BROKER_PID
"""
import os
import statistics
import sys
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_END

IDLE_SECONDS = 20
SAMPLES = 200
GAP_SECONDS = 0.02


def broker_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the stat line (1-based), 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    bootstrap, pid = sys.argv[1], int(sys.argv[2])
    topic = f"longpoll-{int(time.time())}"
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1})
    producer.produce(topic, b"warm-up")
    producer.flush(10)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "longpoll-bench",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 500,
    })
    consumer.assign([TopicPartition(topic, 0, OFFSET_END)])
    latencies = []
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            msg = consumer.poll(0.1)
            if msg is None or msg.error() or msg.value() == b"warm-up":
                continue
            latencies.append(time.time_ns() - int(msg.value()))

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(2)  # let the consumer reach its steady long-poll loop
    cpu0, t0 = broker_cpu_seconds(pid), time.monotonic()
    time.sleep(IDLE_SECONDS)
    cpu1, t1 = broker_cpu_seconds(pid), time.monotonic()
    idle_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
    for _ in range(SAMPLES):
        producer.produce(topic, str(time.time_ns()).encode())
        producer.poll(0)
        time.sleep(GAP_SECONDS)
    producer.flush(10)
    deadline = time.monotonic() + 10
    while len(latencies) < SAMPLES and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join()
    consumer.close()
    ms = sorted(x / 1e6 for x in latencies)
    print(f"idle consumer: broker CPU {idle_pct:.2f}% of one core over {t1 - t0:.1f} s")
    print(f"produce-to-consume latency over {len(ms)} records: median {statistics.median(ms):.2f} ms, "
          f"p90 {ms[int(len(ms) * 0.9)]:.2f} ms, max {ms[-1]:.2f} ms")


if __name__ == "__main__":
    main()
