"""`meterstream alerts` on the state file, as an operator runs it (`webhooks …` needs Kafka:
tests/integration/test_state_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterstream.alerts.store import AlertStore
from meterstream.cli import build_parser
from meterstream.settings import Settings
from tests.alerting import threshold_alert


def run(settings: Settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return args.handler(args, settings)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("METERSTREAM_API_STATE_PATH", raising=False)
    return Settings(data_dir=tmp_path)


def test_alerts_prints_one_line_per_alert_oldest_first(settings: Settings, capsys) -> None:
    AlertStore(settings.data_dir / "api.sqlite3").record_alerts(
        [threshold_alert("acme", 50), threshold_alert("globex", 80)])
    assert run(settings, "alerts", "--tenant", "acme") == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.split("\t")[1:] == ["budget.threshold", "acme", threshold_alert("acme", 50).title]
