"""The worker's HTTP endpoints show every tenant's totals: loopback by default, a token elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

import pytest
from pydantic import SecretStr

from meterstream.devstack import ensure_topics, free_port
from meterstream.devstack.pipeline import WorkerProcess
from meterstream.settings import Settings, settings_env

pytestmark = pytest.mark.integration


def _open_to_the_network(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"worker_host": "0.0.0.0", "worker_port": free_port(), **update})


def test_a_worker_bound_beyond_loopback_without_a_token_refuses_to_start(pipeline_settings: Settings) -> None:
    settings = _open_to_the_network(pipeline_settings)
    done = subprocess.run([sys.executable, "-m", "meterstream", "worker"], capture_output=True, text=True,
                          env={**os.environ, **settings_env(settings)}, timeout=120)
    assert done.returncode != 0
    assert "set METERSTREAM_WORKER_TOKEN" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_worker_bound_beyond_loopback_answers_only_requests_with_its_token(pipeline_settings: Settings) -> None:
    settings = _open_to_the_network(pipeline_settings, worker_token=SecretStr("s3cret-worker-token"),
                                    budget_owner_port=free_port())
    ensure_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()  # sends the token, as the API and the CLI do
    try:
        url = f"http://127.0.0.1:{settings.worker_port}"
        for path in ("/sessions", "/ledger", "/metrics", "/sessions/s1", "/assignment", "/"):
            anonymous = httpx.get(url + path, timeout=10)
            assert anonymous.status_code == 401, path
            wrong = httpx.get(url + path, headers={"Authorization": "Bearer guess"}, timeout=10)
            assert wrong.status_code == 401, path
        for path in ("/sessions", "/ledger", "/metrics"):
            assert httpx.get(url + path, headers=settings.worker_headers(), timeout=10).status_code == 200, path
        # /budgets goes on to the budget owner, a process of its own on the same host: same token
        forwarded = httpx.get(url + "/budgets/nobody", headers=settings.worker_headers(), timeout=10)
        assert forwarded.status_code == 404 and "no budgets" in forwarded.text
        owner = f"http://127.0.0.1:{settings.budget_owner_port}"
        assert httpx.get(owner + "/budgets/nobody", timeout=10).status_code == 401
        assert httpx.get(owner + "/metrics", timeout=10).status_code == 401
    finally:
        worker.stop()
