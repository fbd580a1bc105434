"""`meterstream budgets` and `meterstream reserve` against a running worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.settings import settings_env

pytestmark = pytest.mark.integration


def cli(pipeline: LocalPipeline, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meterstream", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **settings_env(pipeline.settings), "COLUMNS": "80"})


def test_a_budget_made_on_the_command_line_is_listed_changed_and_enforced(pipeline: LocalPipeline):
    made = cli(pipeline, "budgets", "create", "--tenant", "acme", "--name", "amira daily", "--user", "amira",
               "--period", "day", "--limit", "5", "--action", "block", "--json")
    assert made.returncode == 0, made.stderr
    [budget] = json.loads(made.stdout)
    assert (budget["scope"], budget["status"]["limit"], budget["action"]) == (
        {"kind": "user", "value": "amira", "attribute": None, "service": None, "model": None}, "5", "block")

    changed = cli(pipeline, "budgets", "change", "--tenant", "acme", budget["budget_id"], "--limit", "1", "--json")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)[0]["revision"] == 2

    refused = cli(pipeline, "reserve", "--tenant", "acme", "--session", "s1", "--user", "amira", "--amount", "1.50")
    assert refused.returncode == 6 and "amira daily" in refused.stderr
    granted = cli(pipeline, "reserve", "--tenant", "acme", "--session", "s1", "--user", "amira", "--amount", "0.75")
    assert granted.returncode == 0 and json.loads(granted.stdout)["budgets"] == [budget["budget_id"]]

    listed = cli(pipeline, "budgets", "list", "--tenant", "acme")
    assert listed.returncode == 0 and "amira daily" in listed.stderr and "0.75" in listed.stderr

    assert cli(pipeline, "budgets", "delete", "--tenant", "acme", budget["budget_id"]).returncode == 0
    assert cli(pipeline, "budgets", "show", "--tenant", "acme", budget["budget_id"]).returncode == 4


def test_an_invalid_budget_is_refused_naming_the_field(pipeline: LocalPipeline):
    bad = cli(pipeline, "budgets", "create", "--tenant", "acme", "--name", "x", "--limit", "0")
    assert bad.returncode == 2 and "limit" in bad.stderr
