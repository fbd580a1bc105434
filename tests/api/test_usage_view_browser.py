"""The usage view in a real browser: honest numbers and a phone-sized page.

The browser part is web/e2e/usage.e2e.mjs (see there for what it does); this test gives it
the running API and a fresh tenant's key, then checks what the page showed. Screenshots
land in test-output/dashboard/ (see tests/api/browser.py for when it skips).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.api.browser import run_browser_script, saved_png
from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration

MODELS = 16


@pytest.fixture(scope="module")
def usage_run(api_stack: ApiStack) -> dict:
    _, key = api_stack.new_tenant()
    result = run_browser_script("usage.e2e.mjs", api_stack.url, key)
    print(f"end pushed after {result['end_ms']:.0f} ms; screenshots: "
          + ", ".join(v for k, v in result.items() if k.startswith("screenshot_")))
    return result


def test_charts_show_an_empty_state_before_a_key_and_before_the_first_event(usage_run: dict) -> None:
    assert usage_run["empty_before_key"] == {"empty": 2, "axes": 0}
    assert usage_run["empty_before_events"] == {"empty": 2, "axes": 0}


def test_the_session_picker_lists_searches_and_opens_sessions(usage_run: dict) -> None:
    assert usage_run["sessions_listed"] == 2
    assert usage_run["sessions_found"] == [usage_run["first"]]
    assert usage_run["picked"] == usage_run["first"] != usage_run["second"]


def test_unpriced_usage_is_marked_never_shown_as_zero_dollars(usage_run: dict) -> None:
    assert usage_run["batch"]["accepted"] == MODELS
    marks = usage_run["unpriced"]
    # the count and what the unknown model used: 1,000 input, 200 output and 100 thinking tokens
    assert marks["tracker_badge"] == "1 unpriced operation · 1,300 tokens"
    assert marks["tracker_service_badge"] == "1 unpriced operation · 1,300 tokens"
    assert marks["service_overlap"] is False  # the longer mark wraps under the cost, not over the count
    assert "Unpriced" in marks["activity_row"] and "$" not in marks["activity_row"]
    assert "gemini-9-ultra" in marks["activity_badge_title"]  # the reason, on hover
    assert "Not in the price list" in marks["service_card"]
    assert marks["service_card_badge"] == "1 unpriced operation · 1,300 tokens"
    assert marks["zero_dollars"] == []
    # the chart's tooltip over the hour of all sixteen models marks the one unknown model, with its tokens
    assert usage_run["tooltip"]["unpriced"] == ["1 unpriced operation · 1,300 tokens"]


def test_unpriced_usage_is_marked_in_arabic_too(usage_run: dict) -> None:
    marks = usage_run["unpriced_ar"]
    assert marks["tracker_badge"] == "عملية واحدة بلا سعر · ١٬٣٠٠ رمز"
    assert marks["service_card_badge"] == "عملية واحدة بلا سعر · ١٬٣٠٠ رمز"
    assert marks["service_overlap"] is False
    assert "بلا سعر" in marks["activity_row"] and "$" not in marks["activity_row"]
    assert marks["zero_dollars"] == []


def test_the_statements_month_is_picked_in_arabic_words_and_digits(usage_run: dict) -> None:
    picker = usage_run["statements_month_ar"]
    assert picker["tag"] == "select" and picker["month_inputs"] == 0  # no native month input (Latin, English)
    this_month = datetime.now(UTC).strftime("%Y-%m")
    assert picker["value"] == this_month and len(picker["options"]) == 24
    for value, shown in picker["options"]:
        assert re.fullmatch(r"\d{4}-\d{2}", value), value  # what the API expects
        assert not re.search(r"[0-9A-Za-z]", shown) and re.search(r"[٠-٩]{4}", shown), shown
    assert usage_run["statements_asked_ar"] == picker["options"][1][0]
    assert saved_png(usage_run["screenshot_statements_ar_phone"])


def test_the_health_panel_says_what_the_stream_counted(usage_run: dict) -> None:
    assert usage_run["health"]["conflicts"] == "0"
    assert "15 priced operations" in usage_run["health"]["text"] and "1 unpriced operation" in usage_run["health"]["text"]
    assert "0 conflicting duplicates" in usage_run["health"]["text"]


def test_the_tracker_counts_every_token_once(usage_run: dict) -> None:
    assert int(usage_run["tokens"]) == 6 * (1000 + 200 + 100)  # input, output and thinking, each once


def test_every_model_has_its_own_colour_and_the_legend_never_covers_the_tooltip(usage_run: dict) -> None:
    colors = usage_run["model_colors"]
    assert len(colors["legend"]) == MODELS and len(set(colors["legend"])) == MODELS, colors
    assert set(colors["bars"]) <= set(colors["legend"])  # each bar in its legend colour
    assert not usage_run["tooltip"]["covered_by_legend"]


def test_the_time_range_changes_the_charts(usage_run: dict) -> None:
    assert "Last 7 days" in usage_run["range_heading"]


def test_a_report_downloads_as_csv_with_exact_money(usage_run: dict) -> None:
    assert usage_run["csv_name"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(usage_run["csv"])))
    assert {row["service"] for row in rows} == {"text", "image", "video", "speech"}
    assert sum(int(row["unpriced_operations"]) for row in rows) == 1
    assert all(Decimal(row["cost"]) > 0 for row in rows)


def test_ending_the_session_flips_the_tracker_within_a_second(usage_run: dict) -> None:
    assert usage_run["end_ms"] < 1000
    assert usage_run["tracker_status_ar"] == "منتهية"


@pytest.mark.parametrize("name", ["usage-view-models-en", "usage-view-en", "usage-view-ar"])
def test_nothing_overflows_a_phone_screen(usage_run: dict, name: str) -> None:
    assert usage_run[f"overflow_{name}"] == {"scroll_width": 390, "client_width": 390, "outside": []}
    assert saved_png(usage_run[f"screenshot_{name}_phone"])


@pytest.mark.parametrize("name", ["usage-view-models-en", "usage-view-en", "usage-view-ar"])
def test_nothing_overflows_a_desktop_screen(usage_run: dict, name: str) -> None:
    assert usage_run[f"overflow_{name}_wide"] == {"scroll_width": 1400, "client_width": 1400, "outside": []}
    assert saved_png(usage_run[f"screenshot_{name}_wide"])


def test_the_page_logs_no_errors(usage_run: dict) -> None:
    assert usage_run["console_errors"] == []
