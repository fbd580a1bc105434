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
