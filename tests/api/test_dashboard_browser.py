"""The dashboard in a real browser (playwright-core driving Debian's headless Chromium).

The browser part is web/e2e/dashboard.e2e.mjs; this test gives it the running API and a
key, then checks what it saw. Outside CI it skips, saying why, only when Chromium, the
node packages or the dashboard build are truly absent; in CI (CI=true) they must be there.
Screenshots go to test-output/dashboard/. Push latency is measured in bench/push_latency.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = Path(os.environ.get("METERSTREAM_CHROMIUM", "/usr/bin/chromium"))
OUTPUT = ROOT / "test-output" / "dashboard"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not at {CHROMIUM} (apt-get install -y chromium)"
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (WEB / "node_modules" / "playwright-core").exists():
        return "web/node_modules is missing (npm --prefix web ci)"
    if not (WEB / "dist" / "index.html").exists():
        return "the dashboard is not built (npm --prefix web run build)"
    return None


@pytest.fixture(scope="module")
def browser_run(api_stack: ApiStack) -> dict:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test cannot run in CI: {missing}")
        pytest.skip(missing)
    _, key = api_stack.new_tenant()
    env = {**os.environ, "API_URL": api_stack.url, "API_KEY": key, "OUT_DIR": str(OUTPUT), "EVENTS": "5",
           "CHROMIUM": str(CHROMIUM)}
    done = subprocess.run(["node", "e2e/dashboard.e2e.mjs"], cwd=WEB, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"the browser run failed:\n{done.stdout}\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["api"] = api_stack.client(key).get(f"/v1/sessions/{result['session_id']}/stats").json()
    print(f"push latencies (ms): {[round(x) for x in result['latencies_ms']]}; screenshots: "
          f"{result['screenshot_en']}, {result['screenshot_ar']}")
    return result


def test_the_tracker_shows_each_recorded_operation_and_its_exact_cost(browser_run: dict) -> None:
    assert len(browser_run["latencies_ms"]) == 5  # each of the five pushes was seen in the page
    assert browser_run["tracker_operations"] == 5 == browser_run["api"]["operations"]
    assert Decimal(browser_run["tracker_cost"]) == Decimal("0.20") == Decimal(browser_run["api"]["total_cost"])
    assert browser_run["tracker_headline"] == "$0.20"


def test_arabic_lays_the_page_out_right_to_left(browser_run: dict) -> None:
    assert browser_run["ar"] == {"dir": "rtl", "lang": "ar", "tracker_dir": "rtl", "body_dir": "rtl",
                                 "tracker_title": "متتبع الاستخدام"}


def test_screenshots_of_both_languages_are_saved(browser_run: dict) -> None:
    for name in ("screenshot_en", "screenshot_ar"):
        path = Path(browser_run[name])
        path = path if path.is_absolute() else WEB / path
        assert path.read_bytes().startswith(b"\x89PNG")


def test_the_last_active_session_is_restored_after_a_reload(browser_run: dict) -> None:
    assert browser_run["restored_session_id"] == browser_run["session_id"]
    assert browser_run["restored_dir"] == "rtl"  # the language choice is remembered too


def test_the_page_logs_no_errors(browser_run: dict) -> None:
    assert browser_run["console_errors"] == []
