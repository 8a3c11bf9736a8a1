"""A real full disk (issue #6): the broker's data dir on a 4 MB tmpfs.

Proves: a confluent-kafka producer (acks=all) fills the disk; once a write fails with ENOSPC the
partition answers KAFKA_STORAGE_ERROR (retriable, so librdkafka retries until message.timeout.ms
and then reports the failure) and the broker keeps answering Metadata; nothing acknowledged is
lost: after the filesystem grows and the broker restarts on the same data dir, every acknowledged
record is at its acknowledged offset, and new records are accepted again.

Needs permission to mount tmpfs (root, CAP_SYS_ADMIN): where the machine does not allow it the
test is skipped and says so.
"""

from __future__ import annotations

import subprocess

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from broker_process import BrokerProcess, wharf_binary
from librdkafka_client import base_config, consume_partitions, create_topic, produce_all, producer_config


@pytest.fixture
def small_fs(tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_storage_error_then_nothing_acknowledged_lost_after_growing(small_fs):
    broker = BrokerProcess(wharf_binary(), small_fs / "data", small_fs.parent / "wharf.log", []).start()
    try:
        topic = "full"
        create_topic(broker.bootstrap, topic, 1)
        producer = Producer(producer_config(broker.bootstrap, **{"message.timeout.ms": 5000, "linger.ms": 5}))
        value = b"z" * 1_000
        reports = produce_all(producer, topic, ({"value": value + str(i).encode(), "partition": 0} for i in range(8_000)))
        acked = [r for r in reports if r.error is None]
        failed = [r for r in reports if r.error is not None]
        print(f"{len(acked)} acknowledged, {len(failed)} failed: {sorted({r.error.name() for r in failed})}")
        assert acked and failed, "the 4 MB disk filled part-way through 8 MB of records"
        assert [r.offset for r in acked] == list(range(len(acked)))
        # The write failed with ENOSPC and failed the log (KAFKA_STORAGE_ERROR from then on).
        assert "log storage failed" in broker.log_tail() and "No space left on device" in broker.log_tail()
        # The broker still serves metadata with the partition's log failed.
        md = AdminClient(base_config(broker.bootstrap)).list_topics(timeout=10)
        assert topic in md.topics

        broker.kill9()
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_fs)], check=True)
        broker.start()
        records = consume_partitions(broker.bootstrap, topic, [0], timeout=60)
        assert [r.value for r in records[: len(acked)]] == [r.value for r in acked]
        assert [r.offset for r in records] == list(range(len(records)))
        more = produce_all(Producer(producer_config(broker.bootstrap)), topic, [{"value": b"after", "partition": 0}])
        assert more[0].error is None and more[0].offset == len(records)
    finally:
        if broker.is_running():
            broker.stop()
