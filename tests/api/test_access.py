"""API keys: every /v1 endpoint needs one, and a key sees and writes only its own tenant's data."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiStack, eventually

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}

READS = ("/stats", "/summary", "/export", "/export?format=csv", "/events", "")


def test_requests_without_a_key_are_refused_with_401(api_stack: ApiStack) -> None:
    with api_stack.client(None) as anonymous:
        for method, path in (("GET", "/v1/pricing"), ("POST", "/v1/sessions"), ("GET", "/v1/activity"),
                             ("GET", "/v1/sessions/s1/stats"), ("POST", "/v1/usage")):
            response = anonymous.request(method, path, json={})
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_and_malformed_keys_are_refused_with_401(api_stack: ApiStack) -> None:
    for key in ("msk_000000000000_not-a-real-secret", "hello", "msk_"):
        with api_stack.client(key) as client:
            assert client.get("/v1/pricing").status_code == 401, key


def test_a_revoked_key_is_refused_from_the_next_request_on(api_stack: ApiStack) -> None:
    tenant_id, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        assert client.get("/v1/pricing").status_code == 200
        api_stack.store.revoke_key(key.split("_")[1])
        refused = client.get("/v1/pricing")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


def test_another_tenant_cannot_read_a_session_or_see_its_usage(api_stack: ApiStack) -> None:
    _, key_a = api_stack.new_tenant()
    _, key_b = api_stack.new_tenant()
    with api_stack.client(key_a) as a, api_stack.client(key_b) as b:
        session_id = a.post("/v1/sessions", json={}).json()["session_id"]
        assert a.post("/v1/usage", json={**IMAGE, "session_id": session_id}).status_code == 202
        eventually(lambda: a.get("/v1/activity").json(), what="the event in ClickHouse")
        eventually(lambda: a.get(f"/v1/sessions/{session_id}/stats").json()["operations"] == 1, what="live totals")
        for suffix in READS:
            assert b.get(f"/v1/sessions/{session_id}{suffix}").status_code == 404, suffix
        assert b.post(f"/v1/sessions/{session_id}/end").status_code == 404
        assert b.get("/v1/activity").json() == []
        assert b.get("/v1/reports/usage").json()["current"]["rows"] == []
        assert a.get(f"/v1/sessions/{session_id}").json()["status"] == "active"


def test_another_tenant_cannot_write_to_a_session_id_in_use(api_stack: ApiStack) -> None:
    _, key_a = api_stack.new_tenant()
    _, key_b = api_stack.new_tenant()
    with api_stack.client(key_a) as a, api_stack.client(key_b) as b:
        session_id = a.post("/v1/sessions", json={}).json()["session_id"]
        single = b.post("/v1/usage", json={**IMAGE, "session_id": session_id})
        batch = b.post("/v1/usage/batch", json={"events": [{**IMAGE, "session_id": session_id}]}).json()
    assert single.status_code == 403
    assert batch["rejected"] == 1 and batch["items"][0]["errors"][0]["field"] == "session_id"


def test_an_event_naming_another_tenant_is_rejected(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    response = client.post("/v1/usage", json={**IMAGE, "session_id": "s-other", "tenant_id": "someone-else"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "tenant_id", "reason": "does not match the API key's (leave it out)"}]
