"""The dashboard in a real browser (playwright-core driving Debian's headless Chromium).

The browser part is web/e2e/dashboard.e2e.mjs; this test gives it the running API and a
key, then checks what it saw (see tests/api/browser.py for when it skips). Push latency is
measured in bench/push_latency.py.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.browser import run_browser_script, saved_png
from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser_run(api_stack: ApiStack) -> dict:
    _, key = api_stack.new_tenant()
    result = run_browser_script("dashboard.e2e.mjs", api_stack.url, key, EVENTS="5")
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
    assert saved_png(browser_run["screenshot_en"]) and saved_png(browser_run["screenshot_ar"])


def test_the_last_active_session_is_restored_after_a_reload(browser_run: dict) -> None:
    assert browser_run["restored_session_id"] == browser_run["session_id"]
    assert browser_run["restored_dir"] == "rtl"  # the language choice is remembered too


def test_the_page_logs_no_errors(browser_run: dict) -> None:
    assert browser_run["console_errors"] == []
