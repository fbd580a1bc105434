"""The three-broker devstack cluster: topics replicated three times with min.insync.replicas=2,
and an acks=all producer that rides through a kill -9 of one broker losing nothing."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from meterstream.devstack import KafkaCluster, ensure_topics, isolated_settings
from meterstream.devstack.topics import topic_plan
from meterstream.errors import InfrastructureUnavailable
from meterstream.settings import Settings
from tests.conftest import unique_name


def cluster_settings(cluster: KafkaCluster, tmp_path, **overrides: object) -> Settings:
    values: dict[str, object] = {"topic_replication_factor": 3, "topic_min_insync_replicas": 2, **overrides}
    return isolated_settings(unique_name("c"), cluster.bootstrap, "", tmp_path / "data", **values)


def test_three_nodes_join_one_quorum(kafka_cluster: KafkaCluster):
    admin = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap})
    assert set(admin.list_topics(timeout=10).brokers) == {1, 2, 3}
    assert kafka_cluster.active_controller() in {1, 2, 3}
    assert all(pid is not None for pid in kafka_cluster.running().values())
    # Another process finds the same layout in the cluster's state file.
    again = KafkaCluster.existing(kafka_cluster.data_dir)
    assert again is not None and again.bootstrap == kafka_cluster.bootstrap
    assert len(kafka_cluster.bootstrap.split(",")) == 3


def test_every_pipeline_topic_gets_three_replicas_and_min_insync_two(kafka_cluster, tmp_path):
    settings = cluster_settings(kafka_cluster, tmp_path)
    ensure_topics(settings)
    admin = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap})
    names = [topic.topic for topic in topic_plan(settings)]
    assert f"{settings.app_id}-sessions-changelog" in names
    assert f"{settings.app_id}-__assignor-__leader" in names
    metadata = admin.list_topics(timeout=10).topics
    for name in names:
        assert {len(p.replicas) for p in metadata[name].partitions.values()} == {3}, name
    configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, name) for name in names])
    for resource, future in configs.items():
        assert future.result(timeout=10)["min.insync.replicas"].value == "2", resource.name
    # The changelogs keep their own settings beside the replication ones.
    changelog = ConfigResource(ConfigResource.Type.TOPIC, f"{settings.app_id}-sessions-changelog")
    assert admin.describe_configs([changelog])[changelog].result(timeout=10)["cleanup.policy"].value == "compact"


def test_a_replication_factor_above_the_brokers_is_refused(kafka_cluster, tmp_path):
    settings = cluster_settings(kafka_cluster, tmp_path, topic_replication_factor=4)
    with pytest.raises(InfrastructureUnavailable, match="REPLICATION_FACTOR is 4 but .* has 3 brokers"):
        ensure_topics(settings)
    assert settings.topic_events not in AdminClient({"bootstrap.servers": kafka_cluster.bootstrap}).list_topics(
        timeout=10).topics


def test_acks_all_survives_kill_9_of_the_busiest_leader(kafka_cluster, tmp_path):
    settings = cluster_settings(kafka_cluster, tmp_path)
    ensure_topics(settings)
    topic = settings.topic_events
    victim = kafka_cluster.leader_of_most_partitions(topic)
    producer = Producer({**settings.kafka_producer_config(), "log_level": 0})
    acked: dict[int, float] = {}
    errors: list[str] = []

    def delivered(error, message) -> None:
        if error is not None:
            errors.append(str(error))
        else:
            acked[int(message.value())] = time.monotonic()

    sent, killed_at, restarted_at = 0, None, None
    start = time.monotonic()
    try:
        # 100 messages a second for 35 s: kill -9 at 5 s, start the node again 20 s later.
        while (now := time.monotonic()) - start < 35:
            if killed_at is None and now - start >= 5:
                kafka_cluster.kill(victim)
                killed_at = time.monotonic()
            if killed_at is not None and restarted_at is None and now - killed_at >= 20:
                kafka_cluster.restart(victim)
                restarted_at = time.monotonic()
            producer.produce(topic, key=f"s{sent % 40}".encode(), value=str(sent).encode(), on_delivery=delivered)
            sent += 1
            producer.poll(0)
            time.sleep(max(0.0, start + sent / 100 - time.monotonic()))
        assert producer.flush(120) == 0
    finally:
        if kafka_cluster.running()[victim] is None:
            kafka_cluster.restart(victim)
    assert errors == []
    assert set(acked) == set(range(sent))
    assert killed_at is not None and restarted_at is not None
    # The producer kept going: writes were acknowledged by the two brokers left (min ISR 2).
    assert sum(killed_at < at < restarted_at for at in acked.values()) > 0

    consumer = Consumer({"bootstrap.servers": kafka_cluster.bootstrap, "group.id": unique_name("check"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values: list[int] = []
    deadline = time.monotonic() + 60
    while len(values) < sent and time.monotonic() < deadline:
        values += [int(m.value()) for m in consumer.consume(1000, timeout=0.5) if not m.error()]
    consumer.close()
    assert sorted(values) == list(range(sent))  # nothing lost, nothing doubled

    # The node came back: a broker of the cluster again, and in sync on every partition.
    kafka_cluster.wait_in_sync(topic)
    assert victim in AdminClient({"bootstrap.servers": kafka_cluster.bootstrap}).list_topics(timeout=10).brokers
    offsets = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap}).list_topics(
        "__consumer_offsets", timeout=10).topics["__consumer_offsets"]
    assert {len(p.replicas) for p in offsets.partitions.values()} == {3}
