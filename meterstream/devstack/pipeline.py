"""The whole local pipeline in one place, in boot order: broker, topics, worker, sink.

Stopped in reverse. The worker is a separate OS process (Faust owns its event loop);
the sink runs in this process, because in embedded mode the process that owns the
chdb folder is the one that can query it (reports, tests).
"""

from __future__ import annotations

import json
from collections import Counter
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from meterstream.devstack.kafka_broker import KafkaBroker
from meterstream.devstack.kafka_cluster import KafkaCluster
from meterstream.devstack.topics import ensure_topics
from meterstream.errors import InfrastructureUnavailable
from meterstream.processes import terminate
from meterstream.schemas import SessionTotals
from meterstream.settings import Settings, settings_env
from meterstream.sinks.clickhouse import ClickHouseSink, connect
from meterstream.sinks.runner import SinkRunner

log = logging.getLogger(__name__)


def local_broker(settings: Settings) -> KafkaBroker:
    return KafkaBroker(
        data_dir=settings.data_dir / "kafka", port=settings.kafka_port,
        controller_port=settings.kafka_controller_port, cache_dir=settings.kafka_cache_dir,
        heap=settings.kafka_heap, partitions=settings.topic_partitions,
    )


def local_cluster(settings: Settings, brokers: int = 3) -> KafkaCluster:
    """The local cluster of `meterstream kafka start --brokers N`: the first node on the
    settings' ports, the others on the next free ones (kept in its cluster.json)."""
    return KafkaCluster(
        data_dir=settings.data_dir / "kafka-cluster", brokers=brokers, port=settings.kafka_port,
        controller_port=settings.kafka_controller_port, cache_dir=settings.kafka_cache_dir,
        heap=settings.kafka_cluster_heap, partitions=settings.topic_partitions,
    )


class WorkerProcess:
    """`meterstream worker` as a child process, with its output in a log file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.log_file = settings.data_dir / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **settings_env(self.settings)}
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "meterstream", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise InfrastructureUnavailable(f"the worker exited ({self.process.returncode}); see {self.log_file}")
            try:
                self.counts()
                if not self.settings.budgets_enabled or self._budget_owner_answers():
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.3)
        raise InfrastructureUnavailable(f"the worker did not answer within {timeout:.0f}s; see {self.log_file}")

    def _budget_owner_answers(self) -> bool:
        """Whether the worker's budget owner (its child process) is up: an unknown tenant is a 404
        from it, and a 503 from the worker while the child is still starting."""
        try:
            self.get("/budgets/-")
        except urllib.error.HTTPError as error:
            return error.code == 404
        return True

    def get(self, path: str) -> bytes:
        if self.process is not None and self.process.poll() is not None:
            raise InfrastructureUnavailable(
                f"the worker exited with code {self.process.returncode}; see {self.log_file}"
            )
        request = urllib.request.Request(f"{self.settings.worker_url}{path}", headers=self.settings.worker_headers())
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read()

    def ledger(self) -> dict[str, dict[str, int]]:
        """The worker's durable counts per tenant and outcome."""
        return json.loads(self.get("/ledger"))

    def counts(self) -> dict[str, int]:
        """The ledger summed over tenants, outcomes that occurred only."""
        total: Counter[str] = Counter()
        for outcomes in self.ledger().values():
            total.update(outcomes)
        return {outcome: n for outcome, n in total.items() if n}

    def partitions(self) -> list[int]:
        """The home partitions this worker meters now."""
        return json.loads(self.get("/assignment"))["partitions"]

    def sessions(self) -> dict[str, dict]:
        return json.loads(self.get("/sessions"))

    def session_totals(self, session_id: str) -> SessionTotals | None:
        try:
            return SessionTotals.model_validate_json(self.get(f"/sessions/{session_id}"))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def stop(self, timeout: float = 30.0) -> None:
        terminate(self.process, timeout)


class SinkThread:
    def __init__(self, settings: Settings) -> None:
        self.client = connect(settings.clickhouse_url)
        sink = ClickHouseSink(self.client, settings.clickhouse_database, settings.clickhouse_cluster)
        self.runner = SinkRunner(settings, sink)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clickhouse-sink", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.runner.run(self._stop)
        except BaseException as error:  # noqa: BLE001 - surfaced to the owner via .error
            log.exception("the sink stopped")
            self.error = error

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def wait_stored(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.runner.counts.stored < count:
            if self.error is not None:
                raise self.error
            time.sleep(0.1)
        return self.runner.counts.stored >= count


class LocalPipeline:
    """Starts the pipeline's parts in order and stops them in reverse."""

    def __init__(self, settings: Settings, own_broker: bool = True) -> None:
        self.settings = settings
        self.broker = local_broker(settings) if own_broker else None
        self.worker = WorkerProcess(settings)
        self.sink: SinkThread | None = None

    def start(self) -> LocalPipeline:
        try:
            if self.broker is not None:
                self.broker.start()
            ensure_topics(self.settings)
            self.worker.start()
            self.sink = SinkThread(self.settings)
            self.sink.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.sink is not None:
            self.sink.stop()
        self.worker.stop()
        if self.broker is not None:
            self.broker.stop()

    def __enter__(self) -> LocalPipeline:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir
