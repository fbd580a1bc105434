"""Portal tokens: what an app hands the tracker in an end user's browser instead of its API key."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import ApiStack, eventually, sse_events

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}
READS = ("/stats", "/summary")


def _session_with_usage(client, user_id: str | None = None) -> str:
    session_id = client.post("/v1/sessions", json={"user_id": user_id} if user_id else {}).json()["session_id"]
    assert client.post("/v1/usage", json={**IMAGE, "session_id": session_id}).status_code == 202
    eventually(lambda: client.get(f"/v1/sessions/{session_id}/stats").json()["operations"] == 1, what="live totals")
    return session_id


def _mint(client, session_id: str, **body) -> dict:
    response = client.post(f"/v1/sessions/{session_id}/tokens", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_session_token_reads_its_session_stats_summary_and_events(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    session_id = _session_with_usage(client)
    minted = _mint(client, session_id, expires_in_seconds=60)
    assert minted["token"].startswith("mpt_") and minted["scope"] == "session"
    assert minted["session_id"] == session_id and minted["user_id"] is None
    with api_stack.client(minted["token"]) as browser:
        assert browser.get(f"/v1/sessions/{session_id}/stats").json()["operations"] == 1
        eventually(lambda: browser.get(f"/v1/sessions/{session_id}/summary").json()["operations"] == 1,
                   what="the summary from ClickHouse")
        with browser.stream("GET", f"/v1/sessions/{session_id}/events") as response:
            assert response.status_code == 200
            name, data = next((n, d) for n, d in sse_events(response) if n == "totals")
            assert data["operations"] == 1


def test_a_session_token_cannot_read_another_session(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    mine, other = _session_with_usage(client), _session_with_usage(client)
    token = _mint(client, mine)["token"]
    with api_stack.client(token) as browser:
        for suffix in (*READS, "/events"):
            refused = browser.get(f"/v1/sessions/{other}{suffix}")
            assert refused.status_code == 403, suffix
            assert refused.json()["detail"] == f"this portal token reads session {mine} only"


def test_a_token_reads_nothing_else_and_records_no_usage(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    session_id = _session_with_usage(client)
    token = _mint(client, session_id)["token"]
    with api_stack.client(token) as browser:
        for method, path, body in (
            ("POST", "/v1/usage", {**IMAGE, "session_id": session_id}),
            ("POST", "/v1/usage/batch", {"events": [{**IMAGE, "session_id": session_id}]}),
            ("POST", f"/v1/sessions/{session_id}/end", None),
            ("POST", f"/v1/sessions/{session_id}/tokens", {}),
            ("GET", f"/v1/sessions/{session_id}/export", None),
            ("GET", f"/v1/sessions/{session_id}", None),
            ("GET", "/v1/sessions", None),
            ("GET", "/v1/activity", None),
            ("GET", "/v1/reports/usage", None),
            ("GET", "/v1/budgets", None),
        ):
            refused = browser.request(method, path, json=body)
            assert refused.status_code == 403, (method, path, refused.text)
            assert refused.json()["detail"].startswith("this is a portal token: it only reads")
    assert client.get(f"/v1/sessions/{session_id}/stats").json()["operations"] == 1
    assert client.get(f"/v1/sessions/{session_id}").json()["status"] == "active"


def test_a_token_stops_working_at_expiry(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    session_id = _session_with_usage(client)
    minted = _mint(client, session_id, expires_in_seconds=2)
    with api_stack.client(minted["token"]) as browser:
        assert browser.get(f"/v1/sessions/{session_id}/stats").status_code == 200
        time.sleep(2.5)
        expired = browser.get(f"/v1/sessions/{session_id}/stats")
    assert expired.status_code == 401
    assert expired.json()["detail"] == "portal token expired: ask the app for a new one"


def test_a_forged_or_altered_token_is_refused(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    session_id = _session_with_usage(client)
    token = _mint(client, session_id)["token"]
    claims, _, signature = token.partition(".")
    for forged in (f"{claims}.{signature[:-2]}AA", f"{claims}x.{signature}", "mpt_nonsense"):
        with api_stack.client(forged) as browser:
            assert browser.get(f"/v1/sessions/{session_id}/stats").status_code == 401, forged


def test_a_user_token_reads_that_users_sessions_only(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    first, second = _session_with_usage(client, "amira"), _session_with_usage(client, "amira")
    someone_else = _session_with_usage(client, "omar")
    minted = _mint(client, first, scope="user")
    assert (minted["scope"], minted["session_id"], minted["user_id"]) == ("user", None, "amira")
    with api_stack.client(minted["token"]) as browser:
        assert browser.get(f"/v1/sessions/{first}/stats").status_code == 200
        assert browser.get(f"/v1/sessions/{second}/stats").status_code == 200
        assert browser.get(f"/v1/sessions/{someone_else}/stats").status_code == 403
    no_user = _session_with_usage(client)
    refused = client.post(f"/v1/sessions/{no_user}/tokens", json={"scope": "user"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "scope"


def test_tokens_are_minted_only_for_the_tenants_own_sessions(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    session_id = _session_with_usage(client)
    _, other_key = api_stack.new_tenant()
    with api_stack.client(other_key) as other:
        assert other.post(f"/v1/sessions/{session_id}/tokens", json={}).status_code == 404
    assert client.post(f"/v1/sessions/{session_id}/tokens", json={"expires_in_seconds": 10 ** 9}).status_code == 422


def test_revoking_the_minting_key_ends_its_tokens(api_stack: ApiStack) -> None:
    _, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        session_id = _session_with_usage(client)
        token = _mint(client, session_id)["token"]
    with api_stack.client(token) as browser:
        assert browser.get(f"/v1/sessions/{session_id}/stats").status_code == 200
        api_stack.store.revoke_key(key.split("_")[1])
        assert browser.get(f"/v1/sessions/{session_id}/stats").status_code == 401


def test_the_tracker_embedded_in_an_apps_page_runs_on_portal_tokens(api_stack: ApiStack, tenant) -> None:
    """In headless Chromium: the page holds no API key; it asks "its backend" for a portal token."""
    from tests.api.browser import run_browser_script

    _, client = tenant
    session_id = _session_with_usage(client)
    key = client.headers["Authorization"].removeprefix("Bearer ")
    result = run_browser_script("embed.e2e.mjs", api_stack.url, key, SESSION_ID=session_id)
    assert result["operations"] == 2  # the first event, then one pushed while the page watched
    assert result["tokens_minted"] >= 1 and set(result["token_prefixes"]) == {"mpt_"}
    assert result["api_key_in_page"] is False
    assert result["refused"] == [] and result["console_errors"] == []  # nothing it may not read was asked for


def test_the_shared_signing_secret_is_no_key(api_stack: ApiStack, tenant) -> None:
    import base64
    import json

    tenant_id, client = tenant
    token = _mint(client, _session_with_usage(client))["token"]
    claims = token.removeprefix("mpt_").split(".")[0]
    kid = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["kid"]
    assert api_stack.store.revoke_key(f"portal-secret/{kid}") is None
    assert all(key.key_id != f"portal-secret/{kid}" for key in api_stack.store.list_keys())
    with api_stack.client(f"msk_portal-secret/{kid}_anything") as forged:
        assert forged.get("/v1/pricing").status_code == 401
