"""Chaos fixtures: a broker of their own (one test stops and restarts it) and a per-test
ClickHouse folder owned by the sink process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from meterstream.devstack import KafkaBroker, free_port, isolated_settings
from meterstream.devstack.kafka_cluster import KafkaCluster
from tests.chaos.harness import ChaosRun

# CI size; METERSTREAM_CHAOS_EVENTS=200000 for the full run.
CHAOS_EVENTS = int(os.environ.get("METERSTREAM_CHAOS_EVENTS", "20000"))


@pytest.fixture(scope="module")
def chaos_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(data_dir=tmp_path_factory.mktemp("chaos-kafka"), port=free_port(),
                         controller_port=free_port(), heap="384m")
    broker.start()
    yield broker
    broker.stop()


def chaos_run(bootstrap: str, tmp_path, request, **overrides: object) -> Iterator[ChaosRun]:
    run = f"c{uuid.uuid4().hex[:8]}"
    settings = isolated_settings(
        run, bootstrap, f"chdb://{tmp_path / 'clickhouse'}", tmp_path / "data",
        **{"clickhouse_database": "meterstream", "sink_batch_seconds": 0.5, "consumer_session_timeout": 6.0,
           **overrides},
    )
    settings.data_dir.mkdir(parents=True)
    running = ChaosRun(settings, settings.data_dir, seed=hash(request.node.name) & 0xFFFF)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def chaos(chaos_broker: KafkaBroker, tmp_path, request) -> Iterator[ChaosRun]:
    # e.g. {"topic_partitions": 12}, through indirect parametrization
    yield from chaos_run(chaos_broker.bootstrap, tmp_path, request, **getattr(request, "param", {}))


@pytest.fixture
def cluster_chaos(kafka_cluster: KafkaCluster, tmp_path, request) -> Iterator[ChaosRun]:
    """A chaos run on three brokers: every topic with three replicas, two of them in sync."""
    yield from chaos_run(kafka_cluster.bootstrap, tmp_path, request, topic_replication_factor=3,
                         topic_min_insync_replicas=2)
