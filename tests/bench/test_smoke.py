"""Each benchmark scenario at a tiny size, so the suite cannot rot. Nothing here asserts a
speed: it checks that every scenario runs and reports the lines BENCHMARKS.md needs."""

from __future__ import annotations

import importlib
import math

import pytest

from bench import report
from bench.__main__ import SCENARIOS
from bench.harness import SMOKE, BenchEnv

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_runs_at_smoke_scale_and_reports_its_lines(name, kafka_broker, clickhouse_dsn, tmp_path):
    env = BenchEnv(kafka_broker.bootstrap, clickhouse_dsn, tmp_path, SMOKE)
    results = importlib.import_module(f"bench.scenarios.{name}").run(env)
    assert results
    for result in results:
        assert result.runs and all(math.isfinite(value) and value >= 0 for value in result.runs), result
        assert result.met is None  # targets are judged at full scale only
    assert "| " + results[0].scenario in report.table(results)
    if name == "budgets":
        check_budget_lines({r.metric: r for r in results})


def check_budget_lines(results):
    """`--scale smoke --only budgets`: every line has the same-run baseline it is read against,
    and at this load every reservation is granted and every crossing raises its alert."""
    rate = SMOKE.budget_rates[0]
    for path in ("BudgetClient.ask_async", "POST /v1/reservations"):
        lines = [r for metric, r in results.items() if path in metric and f"@ {rate:,}/s" in metric]
        assert len(lines) == 3, sorted(results)  # p50, p95, p99
        assert all(r.baseline_runs for r in lines)
        assert "not granted" not in lines[-1].note, lines[-1].note
    on = results["worker throughput, budgets on"]
    assert on.baseline == "budgets off, same topic" and on.baseline_runs
    alert = results["event → webhook received p99"]
    assert alert.baseline_runs and "not seen" not in alert.note, alert.note
