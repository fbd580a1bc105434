"""The dashboard's health panel in a real browser when the stream counted a conflicting
duplicate: an event_id re-sent with other content, through the API, past the host's own
check (as when it arrives through another API host; see test_recording.py), so the stream
counts it apart. The panel shows 1, marked, in English and Arabic.

The browser part is web/e2e/health.e2e.mjs (see tests/api/browser.py for when it skips).
"""

from __future__ import annotations

import uuid

import pytest

from meterstream.api.recent import RecentEvents
from tests.api.browser import run_browser_script, saved_png
from tests.api.conftest import ApiStack, eventually

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}


@pytest.fixture(scope="module")
def health_run(api_stack: ApiStack) -> dict:
    _, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        first = {**IMAGE, "session_id": f"conflict-{uuid.uuid4().hex[:8]}", "event_id": str(uuid.uuid4())}
        assert client.post("/v1/usage", json=first).status_code == 202
        assert client.post("/v1/usage", json=first).status_code == 202  # a retry: harmless
        # The host would answer 409 (it remembers the first); one that does not lets it through to the stream.
        api_stack.server.services.recent = RecentEvents()
        changed = {**first, "usage": {"unit": "images", "images": 7}}
        assert client.post("/v1/usage", json=changed).status_code == 202
        eventually(lambda: client.get("/v1/usage/health").json()["conflicts"] == 1, what="the conflict counted")
        result = run_browser_script("health.e2e.mjs", api_stack.url, key)
        result["api"] = client.get("/v1/usage/health").json()
    return result


def test_the_conflicting_duplicate_is_counted_and_marked(health_run: dict) -> None:
    assert health_run["api"]["conflicts"] == 1 and health_run["api"]["duplicates"] == 1
    panel = health_run["en"]
    assert panel["conflicts"] == "1"
    conflicts = panel["items"]["conflicts"]
    assert (conflicts["count"], conflicts["text"], conflicts["marked"]) == ("1", "1 conflicting duplicate", True)
    assert conflicts["background"] == "rgb(254, 226, 226)" and conflicts["color"] == "rgb(153, 27, 27)"  # red
    assert not panel["items"]["duplicates"]["marked"] and panel["items"]["duplicates"]["text"] == "1 harmless re-send"
    assert panel["note_marked"] and panel["note"].startswith("Event ids sent again with other content")
    assert panel["items"]["priced"]["text"] == "1 priced operation"


def test_it_is_marked_in_arabic_too(health_run: dict) -> None:
    conflicts = health_run["ar"]["items"]["conflicts"]
    assert conflicts["marked"] and conflicts["count"] == "1"
    assert conflicts["text"] == "تكرار متعارض واحد"
    assert health_run["ar"]["note_marked"] and health_run["ar"]["note"].startswith("معرّفات أحداث")


@pytest.mark.parametrize("name", ["health-conflict-en", "health-conflict-ar"])
def test_nothing_overflows_at_1400_or_390_px(health_run: dict, name: str) -> None:
    assert health_run[f"overflow_{name}_wide"] == {"scroll_width": 1400, "client_width": 1400, "outside": []}
    assert health_run[f"overflow_{name}"] == {"scroll_width": 390, "client_width": 390, "outside": []}
    assert saved_png(health_run[f"screenshot_{name}_wide"]) and saved_png(health_run[f"screenshot_{name}_phone"])


def test_the_page_logs_no_errors(health_run: dict) -> None:
    assert health_run["console_errors"] == []
