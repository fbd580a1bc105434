"""Shared fixtures. Integration fixtures start real infrastructure and fail loudly if it cannot start.

- `kafka_broker`: one real Kafka broker for the test session, on free loopback ports.
- `kafka_cluster`: three real KRaft brokers (a controller quorum of three) for the session,
  started only when a test asks for it; a test that kills a node restarts it.
- `clickhouse_dsn`: one embedded ClickHouse folder for the session (chDB allows one engine
  path per process); tests isolate themselves with a unique database each.
- `pipeline_settings`: Settings with unique topics, consumer groups, database and worker port.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from meterstream.devstack import KafkaBroker, KafkaCluster, free_port, isolated_settings
from meterstream.settings import Settings

T = TypeVar("T")


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(
        data_dir=tmp_path_factory.mktemp("kafka"), port=free_port(), controller_port=free_port(), heap="384m",
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(
        data_dir=tmp_path_factory.mktemp("kafka-cluster"), brokers=3,
        ports=[(free_port(), free_port()) for _ in range(3)], heap="384m",
    )
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def clickhouse_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('clickhouse')}"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pipeline_settings(kafka_broker: KafkaBroker, clickhouse_dsn: str, tmp_path: Path) -> Settings:
    return isolated_settings(unique_name("t"), kafka_broker.bootstrap, clickhouse_dsn, tmp_path / "data",
                             sink_batch_seconds=0.3)


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
