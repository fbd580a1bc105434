"""The cluster's port layout and topic plan, without a broker."""

import socket

import pytest
from pydantic import ValidationError

from meterstream.devstack.kafka_cluster import KafkaCluster, consecutive_ports
from meterstream.devstack.topics import topic_plan
from meterstream.settings import Settings


def test_the_other_nodes_take_the_next_free_ports():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # The first node's pair as given; the next pairs above it, skipping what is taken.
        layout = consecutive_ports((port - 2, port - 1), 3)
    assert layout[0] == (port - 2, port - 1)
    others = [p for pair in layout[1:] for p in pair]
    assert port not in others
    assert others == sorted(others) and len(set(others)) == 4 and others[0] > port


def test_a_started_layout_is_read_back_from_the_state_file(tmp_path):
    (tmp_path / "cluster.json").write_text(
        '{"cluster_id": "abc", "nodes": [{"node_id": 1, "port": 1, "controller_port": 2},'
        ' {"node_id": 2, "port": 3, "controller_port": 4}, {"node_id": 3, "port": 5, "controller_port": 6}]}')
    cluster = KafkaCluster.existing(tmp_path)
    assert cluster is not None
    assert cluster.bootstrap == "127.0.0.1:1,127.0.0.1:3,127.0.0.1:5"
    node = cluster.node(2)
    assert (node.port, node.controller_port, node.cluster_id) == (3, 4, "abc")
    assert node.quorum_voters == "1@127.0.0.1:2,2@127.0.0.1:4,3@127.0.0.1:6"
    assert node.internal_replication == 3
    assert KafkaCluster.existing(tmp_path / "none") is None


def test_every_planned_topic_carries_the_replication_settings():
    settings = Settings(topic_replication_factor=3, topic_min_insync_replicas=2)
    plan = topic_plan(settings)
    assert {topic.replication_factor for topic in plan} == {3}
    assert {topic.config["min.insync.replicas"] for topic in plan} == {"2"}
    leader = next(t for t in plan if t.topic.endswith("-__assignor-__leader"))
    assert leader.num_partitions == 1


def test_single_broker_defaults_are_one_and_one():
    plan = topic_plan(Settings())
    assert {topic.replication_factor for topic in plan} == {1}
    assert {topic.config["min.insync.replicas"] for topic in plan} == {"1"}


def test_min_insync_above_the_replication_factor_is_refused():
    with pytest.raises(ValidationError, match="every acks=all write would be refused"):
        Settings(topic_replication_factor=2, topic_min_insync_replicas=3)
