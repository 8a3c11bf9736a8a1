"""The Admin API through confluent_kafka.admin.AdminClient.

Proves: CreateTopics with configs and partitions (validate_only creates nothing), DescribeConfigs
shows topic overrides as DYNAMIC_TOPIC_CONFIG, IncrementalAlterConfigs SET and DELETE, CreatePartitions
grows a topic and refuses to shrink it, DeleteTopics removes it from Metadata, the error codes
TOPIC_ALREADY_EXISTS and INVALID_PARTITIONS, and DescribeCluster shows exactly this broker.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from librdkafka_client import REQUEST_TIMEOUT_S, admin_client, wait_for_partitions

TOPIC = "admin-topic"
CONFIGS = {
    "cleanup.policy": "delete",
    "retention.ms": "3600000",
    "retention.bytes": "10485760",
    "segment.bytes": "1048576",
    "max.message.bytes": "200000",
}
# Kafka's default max.message.bytes, which Wharf's --max-message-bytes also defaults to.
DEFAULT_MAX_MESSAGE_BYTES = "1048588"


def result(future):
    return future.result(timeout=REQUEST_TIMEOUT_S)


def error_code(future) -> int:
    with pytest.raises(KafkaException) as info:
        result(future)
    return info.value.args[0].code()


def topic_names(admin) -> set[str]:
    return set(admin.list_topics(timeout=REQUEST_TIMEOUT_S).topics)


def describe_topic_configs(admin, topic: str) -> dict:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return result(admin.describe_configs([resource], request_timeout=REQUEST_TIMEOUT_S)[resource])


def test_admin_topic_lifecycle_exact(broker):
    admin = admin_client(broker.bootstrap)
    new_topic = NewTopic(TOPIC, num_partitions=2, replication_factor=1, config=CONFIGS)

    # validate_only: the request succeeds and nothing is created.
    assert result(admin.create_topics([new_topic], validate_only=True)[TOPIC]) is None
    assert TOPIC not in topic_names(admin)

    assert result(admin.create_topics([new_topic])[TOPIC]) is None
    wait_for_partitions(admin, TOPIC, 2)

    described = describe_topic_configs(admin, TOPIC)
    for name, value in CONFIGS.items():
        assert name in described, f"{name} missing from DescribeConfigs: {sorted(described)}"
        assert described[name].value == value, f"{name} = {described[name].value}, expected {value}"
        assert ConfigSource(described[name].source) == ConfigSource.DYNAMIC_TOPIC_CONFIG, name

    # IncrementalAlterConfigs: SET one key, DELETE another back to its default; others untouched.
    alter = ConfigResource(
        ResourceType.TOPIC,
        TOPIC,
        incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("max.message.bytes", None, incremental_operation=AlterConfigOpType.DELETE),
        ],
    )
    assert result(admin.incremental_alter_configs([alter])[alter]) is None
    described = describe_topic_configs(admin, TOPIC)
    assert described["retention.ms"].value == "7200000"
    assert described["max.message.bytes"].value == DEFAULT_MAX_MESSAGE_BYTES
    assert ConfigSource(described["max.message.bytes"].source) != ConfigSource.DYNAMIC_TOPIC_CONFIG
    for name in ("cleanup.policy", "retention.bytes", "segment.bytes"):
        assert described[name].value == CONFIGS[name], name

    assert result(admin.create_partitions([NewPartitions(TOPIC, 5)])[TOPIC]) is None
    wait_for_partitions(admin, TOPIC, 5)
    # Partitions can only grow.
    assert error_code(admin.create_partitions([NewPartitions(TOPIC, 3)])[TOPIC]) == KafkaError.INVALID_PARTITIONS

    assert error_code(admin.create_topics([new_topic])[TOPIC]) == KafkaError.TOPIC_ALREADY_EXISTS

    assert result(admin.delete_topics([TOPIC])[TOPIC]) is None
    deadline = time.monotonic() + 10
    while TOPIC in topic_names(admin):
        assert time.monotonic() < deadline, f"{TOPIC} still listed 10s after DeleteTopics"
        time.sleep(0.05)


def test_admin_create_topic_zero_partitions_invalid_partitions(broker):
    admin = admin_client(broker.bootstrap)
    future = admin.create_topics([NewTopic("no-partitions", num_partitions=0, replication_factor=1)])["no-partitions"]
    assert error_code(future) == KafkaError.INVALID_PARTITIONS
    assert "no-partitions" not in topic_names(admin)


def test_admin_describe_cluster_one_broker(broker):
    admin = admin_client(broker.bootstrap)
    cluster = result(admin.describe_cluster(request_timeout=REQUEST_TIMEOUT_S))
    assert len(cluster.nodes) == 1
    [node] = cluster.nodes
    assert f"{node.host}:{node.port}" == broker.bootstrap
    assert cluster.controller is not None and cluster.controller.id == node.id
    assert cluster.cluster_id, "cluster id must be non-empty"
