"""`meterstream serve` logs one INFO line per request: method, path, status, time, tenant."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import ApiStack, serve_process

pytestmark = pytest.mark.integration

LINE = re.compile(r"INFO meterstream\.api\.access: (\S+) (\S+) (\d{3}) (\d+\.\d) ms tenant=(\S+)$")


def test_every_request_is_one_line_with_its_tenant(api_stack: ApiStack, tmp_path) -> None:
    tenant_id, key = api_stack.new_tenant()
    with serve_process(api_stack, tmp_path, METERSTREAM_DATA_DIR=str(tmp_path / "data"),
                       METERSTREAM_API_STATE_PATH=str(tmp_path / "api.sqlite3")) as url:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            assert client.get("/v1/pricing?x=1").status_code == 200
            assert client.post("/v1/sessions", json={}).status_code == 201
            assert client.get("/v1/sessions/nope/stats").status_code == 404
        assert httpx.post(f"{url}/v1/usage", json={}).status_code == 401
    log = (tmp_path / "api.log").read_text()
    assert " ERROR " not in log and "Traceback" not in log, log  # a normal start and stop
    lines = [m.groups() for m in map(LINE.search, log.splitlines()) if m]
    ours = [(method, path, status, tenant) for method, path, status, _, tenant in lines if path != "/healthz"]
    assert ours == [("GET", "/v1/pricing", "200", tenant_id), ("POST", "/v1/sessions", "201", tenant_id),
                    ("GET", "/v1/sessions/nope/stats", "404", tenant_id), ("POST", "/v1/usage", "401", "-")]
