"""`meterstream alerts` and `meterstream insights anomalies` on the state file, as an operator
runs them (`webhooks …` needs Kafka: tests/integration/test_state_cli.py; the other insights
views read ClickHouse: tests/integration/test_insights.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meterstream.alerts.store import AlertStore
from meterstream.cli import build_parser
from meterstream.settings import Settings
from tests.alerting import anomaly_alert, threshold_alert

HOUR = datetime(2026, 6, 20, 11, tzinfo=UTC)


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


@pytest.fixture
def anomalies(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("COLUMNS", "80")
    store = AlertStore(settings.data_dir / "api.sqlite3")
    store.record_alerts([anomaly_alert("acme", HOUR), anomaly_alert("globex", HOUR)])
    store.record_alerts([threshold_alert("acme", t) for t in (50, 80, 90)])  # newer, and not anomalies
    store.record_alerts([anomaly_alert("acme", HOUR.replace(hour=14, minute=5), spent="3.25", minutes=5)])
    return settings


def test_anomalies_prints_the_tenants_spend_anomalies_newest_first_within_80_columns(anomalies, capsys) -> None:
    assert run(anomalies, "insights", "anomalies", "--tenant", "acme") == 0
    out = capsys.readouterr().out
    assert "spend anomalies of acme" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = [line.split("│")[1:6] for line in out.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["2026-06-20 14:05", "5", "tenant", "3.25", "1.5"], ["2026-06-20 11:00", "60", "tenant", "12.000000000007", "1.5"]]
    assert "  2026-06-20 11:00 ana, veo-3.0-generate (video): 12.000000000007 vs 1.5" in out
    assert "globex" not in out and "budget" not in out  # only the tenant's anomalies


def test_anomalies_as_json_are_the_alert_records_with_money_as_exact_strings(anomalies, capsys) -> None:
    assert run(anomalies, "insights", "anomalies", "--tenant", "acme", "--limit", "1", "--json") == 0
    [found] = json.loads(capsys.readouterr().out)["anomalies"]
    assert (found["kind"], found["anomaly"]["window_minutes"], found["anomaly"]["spent"]) == (
        "anomaly.burst", 5, "3.25")


def test_a_tenant_without_anomalies_is_told_so(anomalies, capsys) -> None:
    assert run(anomalies, "insights", "anomalies", "--tenant", "initech") == 0
    assert "none raised" in capsys.readouterr().out
