"""Chaos fixtures: a broker of their own (one test stops and restarts it) and a per-test
ClickHouse folder owned by the sink process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from meterstream.devstack import KafkaBroker, free_port, isolated_settings
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


@pytest.fixture
def chaos(chaos_broker: KafkaBroker, tmp_path, request) -> Iterator[ChaosRun]:
    run = f"c{uuid.uuid4().hex[:8]}"
    overrides = getattr(request, "param", {})  # e.g. {"topic_partitions": 12}, through indirect parametrization
    settings = isolated_settings(
        run, chaos_broker.bootstrap, f"chdb://{tmp_path / 'clickhouse'}", tmp_path / "data",
        **{"clickhouse_database": "meterstream", "sink_batch_seconds": 0.5, "consumer_session_timeout": 6.0,
           **overrides},
    )
    settings.data_dir.mkdir(parents=True)
    chaos_run = ChaosRun(settings, settings.data_dir, seed=hash(request.node.name) & 0xFFFF)
    chaos_run.start()
    yield chaos_run
    chaos_run.stop()
