"""A normal start of the worker beside a fresh broker, and a normal batch, log no error or warning."""

from __future__ import annotations

import pytest

from meterstream.devstack import KafkaBroker, ensure_topics, free_port, isolated_settings
from meterstream.devstack.pipeline import WorkerProcess
from meterstream.producers import UsageEmitter
from meterstream.producers.workload import studio_workload
from tests.conftest import eventually, unique_name

pytestmark = pytest.mark.integration


def test_a_worker_beside_a_fresh_broker_meters_a_batch_without_errors_or_warning_storms(tmp_path, clickhouse_dsn):
    broker = KafkaBroker(data_dir=tmp_path / "kafka", port=free_port(), controller_port=free_port(), heap="384m")
    broker.start()
    try:
        settings = isolated_settings(unique_name("quiet"), broker.bootstrap, clickhouse_dsn, tmp_path / "data",
                                     store="memory://")
        ensure_topics(settings)
        worker = WorkerProcess(settings)
        worker.start()  # the group coordinator (__consumer_offsets) is created as it joins
        try:
            with UsageEmitter(settings) as emitter:
                for event in studio_workload(1000, sessions=10, tenant_id="quiet"):
                    emitter.emit(event)
            eventually(lambda: sum(worker.ledger().get("quiet", {}).values()) >= 1000, timeout=120,
                       what="the worker to meter the 1,000 events")
        finally:
            worker.stop()
        log = worker.log_file.read_text()
        assert "[ERROR]" not in log and " ERROR " not in log and "CoordinatorNotAvailable" not in log, log[-3000:]
        assert "producer buffer full" not in log, log[-3000:]
    finally:
        broker.stop()
