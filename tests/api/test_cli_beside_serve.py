"""`meterstream report` and `reconcile` while `serve` holds the embedded ClickHouse: they ask it;
with no serve to ask, one clear line (no engine dump, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meterstream.settings import settings_env
from tests.api.conftest import ApiStack, eventually, serve_process
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 2}}


def _cli(api_stack: ApiStack, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    variables = {**os.environ, **settings_env(api_stack.settings), **env}
    return subprocess.run([sys.executable, "-m", "meterstream", *argv], env=variables, capture_output=True,
                          text=True, timeout=300)


def test_report_and_reconcile_ask_the_serve_that_holds_the_engine(api_stack: ApiStack, tmp_path: Path) -> None:
    tenant_id, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        assert client.post("/v1/usage", json={**IMAGE, "session_id": "beside-serve"}).status_code == 202
    env = {"METERSTREAM_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'ch'}", "METERSTREAM_DATA_DIR": str(tmp_path / "data"),
           "METERSTREAM_API_STATE_PATH": str(tmp_path / "api.sqlite3"), "METERSTREAM_SINK_GROUP": unique_name("sink")}
    with serve_process(api_stack, tmp_path, sink=True, **env):
        def reported():
            done = _cli(api_stack, env, "report", "--tenant", tenant_id, "--group-by", "tenant_id,model", "--json")
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout) or None
        rows = eventually(reported, timeout=60, what="the serve's sink to store the event")
        assert [(r["tenant_id"], r["model"]) for r in rows] == [(tenant_id, "imagen-4.0-generate")]

        table = _cli(api_stack, env, "report", "--tenant", tenant_id)
        assert table.returncode == 0 and "imagen-4.0-generate" in table.stdout, table.stderr
        checked = _cli(api_stack, env, "reconcile")
        assert checked.stdout.startswith(("consistent: ", "INCONSISTENT")), checked.stderr
        for done in (table, checked):
            assert "Cannot lock" not in done.stderr and "Traceback" not in done.stderr


def test_with_no_serve_to_ask_a_held_engine_is_one_clear_line(api_stack: ApiStack, tmp_path: Path) -> None:
    env = {"METERSTREAM_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'ch'}", "METERSTREAM_DATA_DIR": str(tmp_path / "data"),
           "METERSTREAM_API_STATE_PATH": str(tmp_path / "api.sqlite3")}
    with serve_process(api_stack, tmp_path, **env):
        elsewhere = {**env, "METERSTREAM_DATA_DIR": str(tmp_path / "no-note-here")}
        for argv in (("report",), ("reconcile",)):
            done = _cli(api_stack, elsewhere, *argv)
            assert done.returncode == 3, (argv, done.stdout, done.stderr)
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and "is open in another process" in lines[0], done.stderr
            assert "Cannot lock" not in done.stderr and "Traceback" not in done.stderr
