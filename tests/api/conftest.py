"""The API on the real pipeline: the session's Kafka broker, a worker process, the sink and
the API in this process (they share the embedded ClickHouse engine, as `meterstream serve` does).

One pipeline serves every API test (starting a worker per test would dominate the run);
tests keep apart by tenant, each getting a fresh tenant and API key, which is the isolation
the API itself promises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from meterstream.api import ApiSettings
from meterstream.api.serve import ApiServer
from meterstream.api.store import ApiStore
from meterstream.devstack import KafkaBroker, free_port, isolated_settings
from meterstream.devstack.pipeline import LocalPipeline
from meterstream.processes import terminate
from meterstream.settings import Settings, settings_env
from tests.conftest import eventually, unique_name  # noqa: F401  (re-exported: the API tests import it from here)

# Tenants with pricing of their own, for the estimate tests; every other tenant pays list
# prices and its unknown models are unpriced. The worker reads the same file.
DISCOUNTED_TENANT = "discount-10"
REJECTING_TENANT = "rejects-unknown-models"
TENANT_PRICING = f"""
[tenants.{DISCOUNTED_TENANT}]
adjustment_percent = -10

[tenants.{REJECTING_TENANT}]
unknown_model = "reject"
unpriceable_usage = "reject"
"""


@dataclass
class ApiStack:
    settings: Settings
    api_settings: ApiSettings
    pipeline: LocalPipeline
    server: ApiServer

    @property
    def store(self) -> ApiStore:
        """The running API's own key and session store (so a key revoked here is refused on the next request)."""
        return self.server.services.store

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def new_tenant(self) -> tuple[str, str]:
        """A fresh tenant id and an API key for it."""
        tenant = f"tenant-{uuid.uuid4().hex[:8]}"
        return tenant, self.new_key(tenant)

    def new_key(self, tenant: str) -> str:
        """A new API key for `tenant`."""
        key, _ = self.store.create_key(tenant, "test")
        return key

    def wait_stored(self, count: int) -> None:
        """Wait until the sink has stored `count` rows in total since the stack started."""
        assert self.pipeline.sink is not None
        assert self.pipeline.sink.wait_stored(count, timeout=60), "the sink did not store the events in time"


def api_settings_for(tmp: Path, dashboard_dir: Path | None = None) -> ApiSettings:
    values = {"port": free_port(), "state_path": tmp / "api.sqlite3", "live_poll_seconds": 0.05,
              "webhook_poll_seconds": 0.05, "webhook_backoff_base_seconds": 0.1,
              # tests close statements themselves: months of past test data would close under them
              "statements_auto_close": False}
    if dashboard_dir is not None:
        values["dashboard_dir"] = dashboard_dir
    return ApiSettings(**values)


# Low enough for a test to reach, above the 37 holds of the concurrency test.
OPEN_RESERVATIONS_LIMIT = 60


def stack_settings(kafka_broker: KafkaBroker, clickhouse_dsn: str, data_dir: Path,
                   tenant_pricing_file: Path) -> Settings:
    run = unique_name("api")
    return isolated_settings(run, kafka_broker.bootstrap, clickhouse_dsn, data_dir, sink_batch_seconds=0.2,
                             store="memory://", tenant_pricing_file=tenant_pricing_file,
                             max_open_reservations=OPEN_RESERVATIONS_LIMIT)


@pytest.fixture(scope="package")
def api_stack(kafka_broker: KafkaBroker, clickhouse_dsn: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    tmp = tmp_path_factory.mktemp("api")
    tenant_pricing = tmp / "tenants.toml"
    tenant_pricing.write_text(TENANT_PRICING)
    settings = stack_settings(kafka_broker, clickhouse_dsn, tmp / "data", tenant_pricing)
    api_settings = api_settings_for(tmp)
    with LocalPipeline(settings, own_broker=False) as pipeline:
        with ApiServer(settings, api_settings) as server:
            yield ApiStack(settings, api_settings, pipeline, server)


@pytest.fixture
def tenant(api_stack: ApiStack) -> Iterator[tuple[str, httpx.Client]]:
    """A fresh tenant and an HTTP client that authenticates as it."""
    tenant_id, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        yield tenant_id, client


@contextmanager
def serve_process(api_stack: ApiStack, own: Path, sink: bool = False, **env: str) -> Iterator[str]:
    """`meterstream serve --no-sink` as another OS process, sharing Kafka and the worker with
    `api_stack`; its embedded ClickHouse folder is its own (an embedded one has one owner).
    `env` adds or overrides METERSTREAM_* variables; `sink` runs the sink in it too (give it a
    METERSTREAM_SINK_GROUP of its own). Yields its URL once it answers."""
    port = free_port()
    variables = {**os.environ, **settings_env(api_stack.settings), "METERSTREAM_CLICKHOUSE_DSN": f"chdb://{own / 'ch'}",
                 "METERSTREAM_API_PORT": str(port), **env}
    log = (own / "api.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "meterstream", "serve", *([] if sink else ["--no-sink"])],
                               env=variables,
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, f"the second API did not start: {own}/api.log"
            time.sleep(0.2)
        yield url
    finally:
        terminate(process, 20)
        log.close()


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """The named events of an SSE response, parsed, as they arrive."""
    name = None
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.split(":", 1)[1])
