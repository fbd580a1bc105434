"""The Insights view in a real browser, on the real pipeline: usage of the last 30 days
recorded through the API (Veo 3 and Gemini 2.5 Pro, and an hour spending far above the one
before it, which the stream detects as an anomaly), shown as savings, the month's forecast,
unusual spend and charts, in English and in Arabic (right to left), at 1400 and 390 px.

The browser part is web/e2e/insights.e2e.mjs (see tests/api/browser.py for when it skips).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.browser import assert_fits, run_browser_script
from tests.api.conftest import ApiStack, eventually

pytestmark = pytest.mark.integration

VEO = {"service": "video", "model": "veo-3.0-generate", "usage": {"unit": "video", "seconds": "8"}}
PRO = {"service": "text", "model": "gemini-2.5-pro",
       "usage": {"unit": "tokens", "input_tokens": 12_000, "output_tokens": 300}}
IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}


def _at(hours_ago: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # never in the future
    return (hour - timedelta(hours=hours_ago)).isoformat()


@pytest.fixture(scope="module")
def insights_run(api_stack: ApiStack) -> dict:
    _, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        session = f"s-{uuid.uuid4().hex[:6]}"  # one session: the ledger sees the hours in order
        events = [{**IMAGE, "occurred_at": _at(24 * 35), "user_id": "amira"},  # the previous 30 days
                  {**IMAGE, "occurred_at": _at(50), "user_id": "amira"},
                  {**VEO, "occurred_at": _at(49), "user_id": "amira"},  # far above the hour before
                  {**PRO, "occurred_at": _at(30), "user_id": "omar"},
                  {**PRO, "occurred_at": _at(29), "user_id": "omar"},
                  {**IMAGE, "occurred_at": _at(0), "user_id": "amira"}]  # this month, for the forecast
        for event in events:
            assert api_stack.pipeline.sink is not None
            before = api_stack.pipeline.sink.runner.counts.stored
            answer = client.post("/v1/usage", json={"session_id": session, **event})
            assert answer.status_code in (200, 201, 202), answer.text
            api_stack.wait_stored(before + 1)
        eventually(lambda: client.get("/v1/insights/anomalies").json()["anomalies"], timeout=60, what="an anomaly")
        result = run_browser_script("insights.e2e.mjs", api_stack.url, key)
        result["api"] = client.get("/v1/insights/recommendations").json()
        result["api_top"] = client.get("/v1/insights/top", params={"by": "session"}).json()
    return result


def test_the_savings_shown_are_the_api_s_in_both_languages(insights_run: dict) -> None:
    api = {r["rule_id"]: r for r in insights_run["api"]["recommendations"]}
    for language in ("en", "ar"):
        shown = {r["rule"]: r for r in insights_run[language]["recommendations"]}
        assert set(shown) == set(api)
    veo = next(r for r in insights_run["en"]["recommendations"] if r["rule"] == "veo-3-to-veo-3-fast")
    assert veo["saving"] == "−$2.00"  # 8 s at 0.40 against 0.15 on Veo 3 Fast
    assert "drafts and previews" in veo["text"]
    veo_ar = next(r for r in insights_run["ar"]["recommendations"] if r["rule"] == "veo-3-to-veo-3-fast")
    assert "للمسودات" in veo_ar["text"]


def test_the_anomaly_and_the_forecast_are_shown(insights_run: dict) -> None:
    assert any("veo-3.0-generate" in text for text in insights_run["en"]["anomalies"])
    assert not any("gemini-2.5-pro" in text for text in insights_run["en"]["anomalies"])  # $0.018 an hour: no
    assert any("المتوقع" in text for text in insights_run["ar"]["anomalies"])
    assert insights_run["en"]["forecast"].startswith("$")
    assert insights_run["url"].endswith("#insights")


def test_the_top_sessions_and_distributions_download_as_csv_with_exact_money(insights_run: dict) -> None:
    top = insights_run["csv_insights-top-sessions"]
    assert top["name"].startswith("top-session-") and top["name"].endswith(".csv")
    [row] = list(csv.DictReader(io.StringIO(top["text"])))
    # two images at $0.04, 8 s of Veo 3 at $0.40, and two Gemini 2.5 Pro calls at $0.018: every digit, no float
    assert row["cost"] == "3.316" == insights_run["api_top"]["rows"][0]["cost"]
    assert (row["operations"], row["unpriced_operations"], row["currency"]) == ("5", "0", "USD")
    assert row["session_id"] == insights_run["api_top"]["rows"][0]["key"]["session_id"]
    distributions = {r["by"]: r for r in csv.DictReader(io.StringIO(insights_run["csv_insights-distributions"]["text"]))}
    assert distributions["session"]["total"] == "3.316" and distributions["session"]["units"] == "1"


def test_the_page_is_right_to_left_in_arabic(insights_run: dict) -> None:
    assert (insights_run["en"]["dir"], insights_run["en"]["lang"]) == ("ltr", "en")
    assert (insights_run["ar"]["dir"], insights_run["ar"]["lang"]) == ("rtl", "ar")
    assert insights_run["ar"]["heading"].startswith("كيف تنفق أقل")


@pytest.mark.parametrize("name", ["insights-en", "insights-ar"])
def test_nothing_overflows_at_1400_or_390_px(insights_run: dict, name: str) -> None:
    assert_fits(insights_run, name)


def test_the_page_logs_no_errors(insights_run: dict) -> None:
    assert insights_run["console_errors"] == []
