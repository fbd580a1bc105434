"""The Budgets & alerts view in a real browser, on the real pipeline: a budget made through
the API, usage recorded from the page crossing its thresholds, each alert pushed into the
feed without a reload, in English and in Arabic, at 1400 and 390 px.

The browser part is web/e2e/budgets.e2e.mjs (see tests/api/browser.py for when it skips).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.browser import run_browser_script, saved_png
from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration

LIMIT = "0.1"  # imagen-4.0-generate costs 0.04 an image: 2 images cross 50 %, a third 100 %


@pytest.fixture(scope="module")
def budgets_run(api_stack: ApiStack) -> dict:
    _, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        created = client.post("/v1/budgets", json={"name": "Team images", "limit": LIMIT, "thresholds": ["50", "100"]})
        assert created.status_code == 201, created.text
        budget_id = created.json()["budget_id"]
        result = run_browser_script("budgets.e2e.mjs", api_stack.url, key, BUDGET_ID=budget_id)
        result["budget_id"] = budget_id
        result["api_budgets"] = client.get("/v1/budgets").json()["budgets"]
        result["api_alerts"] = client.get("/v1/alerts", params={"limit": 50}).json()["alerts"]
    return result


def test_the_budget_shows_what_was_spent_in_both_languages(budgets_run: dict) -> None:
    assert budgets_run["card_before"]["spent"] == "0" and budgets_run["card_before"]["limit"] == LIMIT
    en, ar = budgets_run["card_en"], budgets_run["card_ar"]
    assert Decimal(en["spent"]) == Decimal("0.08") and en["spent_text"] == "$0.08" and en["used"] == "80%"
    assert Decimal(ar["spent"]) == Decimal("0.12") and "budget--over" in ar["level"]
    assert en["scope"] == "all usage" and ar["scope"] == "كل الاستخدام"
    (api,) = budgets_run["api_budgets"]  # the form's budget was deleted again
    assert Decimal(api["status"]["spent"]) == Decimal("0.12")


def test_each_alert_is_pushed_into_the_feed_without_a_reload(budgets_run: dict) -> None:
    pushed = [budgets_run["alert_en"], budgets_run["alert_ar"]]
    assert all(alert["highlighted"] for alert in pushed)  # marked new for a moment
    feed = budgets_run["alert_ar"]["feed"]  # newest first
    assert feed.index(budgets_run["alert_ar"]["alert_id"]) < feed.index(budgets_run["alert_en"]["alert_id"])
    assert budgets_run["url_en"].endswith("#budgets")
    api_ids = {alert["alert_id"] for alert in budgets_run["api_alerts"]}
    assert {alert["alert_id"] for alert in pushed} <= api_ids
    assert "Team images" in budgets_run["alert_en"]["text"]


def test_the_page_is_right_to_left_in_arabic(budgets_run: dict) -> None:
    assert budgets_run["lang_en"] == "en"
    assert budgets_run["ar"] == {"dir": "rtl", "lang": "ar", "body_dir": "rtl", "heading": budgets_run["ar"]["heading"]}
    assert budgets_run["ar"]["heading"].startswith("التنبيهات")


def test_the_form_shows_the_api_s_field_error_then_creates_and_deletes(budgets_run: dict) -> None:
    assert "greater than 0" in budgets_run["form_error_limit"]
    assert budgets_run["form_created_scope"] == "user amira · model gemini-2.5-pro"
    assert budgets_run["form_deleted"]


def test_the_tracker_shows_the_budget_left(budgets_run: dict) -> None:
    before, after = budgets_run["tracker_before"], budgets_run["tracker_after"]
    assert (before["budgetId"], before["remaining"], before["limit"]) == (budgets_run["budget_id"], LIMIT, LIMIT)
    assert Decimal(after["remaining"]) == Decimal("-0.02")
    assert "تجاوز الميزانية" in after["text"]


@pytest.mark.parametrize("name", ["budgets-en", "budgets-ar", "usage-en", "usage-ar"])
def test_nothing_overflows_a_phone_screen(budgets_run: dict, name: str) -> None:
    measured = budgets_run[f"overflow_{name}"]
    assert measured["scroll_width"] <= measured["client_width"] == 390, measured
    assert measured["outside"] == [], measured
    assert saved_png(budgets_run[f"screenshot_{name}_wide"]) and saved_png(budgets_run[f"screenshot_{name}_phone"])


def test_the_page_logs_no_errors(budgets_run: dict) -> None:
    assert budgets_run["console_errors"] == []
    assert budgets_run["expected_console_errors"] == 1  # the form's refused budget (422)
