"""The API keys view in a real browser, on the real API: the dashboard's own key listed and
marked, a key created from the form shown once (with a warning and a copy button) and gone
from the page once stored, then revoked after a confirmation, in English and in Arabic
(right to left, Arabic-Indic digits), at 1400 and 390 px.

The browser part is web/e2e/keys.e2e.mjs (see tests/api/browser.py for when it skips).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.browser import assert_fits, run_browser_script
from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration

ARABIC_INDIC = re.compile("[٠-٩]")


@pytest.fixture(scope="module")
def keys_run(api_stack: ApiStack) -> dict:
    _, key = api_stack.new_tenant()
    result = run_browser_script("keys.e2e.mjs", api_stack.url, key)
    with api_stack.client(key) as client:
        result["api_keys"] = {k["key_id"]: k for k in client.get("/v1/keys").json()["keys"]}
    for language in ("en", "ar"):
        with api_stack.client(result[language]["secret"]) as shown:
            result[language]["afterwards"] = shown.get("/v1/pricing")
    return result


def test_the_dashboard_s_own_key_is_listed_and_marked(keys_run: dict) -> None:
    [own] = keys_run["list_before"]
    assert own["current"] and own["status"] == "active" and own["current_text"] == "This dashboard's key"
    assert own["expiry"] == "No expiry"
    assert keys_run["url"].endswith("#keys")


def test_a_created_key_is_shown_once_with_a_warning_and_copies(keys_run: dict) -> None:
    en = keys_run["en"]
    assert en["secret"].startswith(f"msk_{en['key_id']}_")
    assert "you will not see it again" in en["warning"]
    assert en["copy"] == {"button": "Copied", "clipboard": en["secret"]}
    assert en["still_on_page"] is False  # once stored, the key is nowhere on the page
    assert keys_run["ar"]["still_on_page"] is False
    assert "لن تراه مرة أخرى" in keys_run["ar"]["warning"]


def test_the_form_shows_the_api_s_field_error(keys_run: dict) -> None:
    assert "greater than or equal to 1" in keys_run["error_days"]
    assert keys_run["expected_console_errors"] == 1  # that refused key (422)
    assert "e2e refused" not in {k["name"] for k in keys_run["api_keys"].values()}


def test_the_expiry_asked_for_in_days_is_the_key_s_expiry(keys_run: dict) -> None:
    made = {language: keys_run["api_keys"][keys_run[language]["key_id"]] for language in ("en", "ar")}
    now = datetime.now(UTC)
    for language, days in (("en", 30), ("ar", 90)):  # typed as "٩٠" in Arabic
        expires = datetime.fromisoformat(made[language]["expires_at"])
        assert now + timedelta(days=days) - timedelta(minutes=10) < expires <= now + timedelta(days=days)
    [shown] = [k for k in keys_run["en"]["list"] if k["key_id"] == keys_run["en"]["key_id"]]
    assert shown["status"] == "active" and shown["expiry"].startswith("Expires ")


def test_a_revoked_key_is_refused_and_shown_revoked(keys_run: dict) -> None:
    for language, asked in (("en", "Revoke this key?"), ("ar", "أتلغي هذا المفتاح؟")):
        run = keys_run[language]
        assert run["confirmation"].startswith(asked)
        [after] = [k for k in run["list_after"] if k["key_id"] == run["key_id"]]
        assert after["status"] == "revoked" and after["revoked"]
        assert keys_run["api_keys"][run["key_id"]]["status"] == "revoked"
        assert run["afterwards"].status_code == 401 and "revoked" in run["afterwards"].json()["detail"]
    assert keys_run["api_keys"][keys_run["list_before"][0]["key_id"]]["status"] == "active"


def test_arabic_is_right_to_left_with_arabic_indic_digits(keys_run: dict) -> None:
    ar = keys_run["ar"]
    assert ar["dir"] == "rtl" and ar["heading"] == "مفاتيح الواجهة"
    [revoked_en] = [k for k in ar["list"] if k["key_id"] == keys_run["en"]["key_id"]]
    assert revoked_en["status_text"] == "ملغى"
    for shown in ar["list"]:
        dates = shown["dates"]
        assert ARABIC_INDIC.search(dates) and not re.search("[0-9]", dates), dates


@pytest.mark.parametrize("name", ["keys-en", "keys-ar"])
def test_nothing_overflows_at_1400_or_390_px(keys_run: dict, name: str) -> None:
    assert_fits(keys_run, name)


def test_the_page_logs_no_errors(keys_run: dict) -> None:
    assert keys_run["console_errors"] == []
