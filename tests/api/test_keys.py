"""API keys from the API: a tenant lists, creates (the full key shown once) and revokes its own keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from meterstream.api.store import split_key
from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration

FIELDS = {"key_id", "name", "created_at", "expires_at", "revoked_at", "status", "current"}


def _create(client, **body) -> dict:
    created = client.post("/v1/keys", json={"name": "laptop", **body})
    assert created.status_code == 201, created.text
    return created.json()


def test_a_created_key_is_shown_once_and_works_at_once(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    created = _create(client)
    assert set(created) == FIELDS | {"key"}
    assert split_key(created["key"])[0] == created["key_id"]
    assert (created["name"], created["status"], created["current"]) == ("laptop", "active", False)
    assert created["expires_at"] is None and created["revoked_at"] is None
    with api_stack.client(created["key"]) as new:
        assert new.get("/v1/pricing").status_code == 200
        [me] = [k for k in new.get("/v1/keys").json()["keys"] if k["key_id"] == created["key_id"]]
    assert me["current"] and "key" not in me  # listed again: no key this time


def test_the_list_never_shows_a_secret_or_its_hash(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    created = _create(client, expires_in_days=7)
    answer = client.get("/v1/keys")
    assert answer.status_code == 200
    keys = answer.json()["keys"]
    assert all(set(k) == FIELDS for k in keys) and len(keys) == 2  # the tenant's own key and the new one
    secret = split_key(created["key"])[1]
    assert secret not in answer.text and created["key"] not in answer.text and "sha256" not in answer.text
    assert [k["current"] for k in keys] == [True, False]  # oldest first: the caller's key


def test_a_key_with_an_expiry_in_days_or_at_a_time_says_when(tenant) -> None:
    _, client = tenant
    before = datetime.now(UTC)
    in_days = _create(client, expires_in_days=30)
    expires = datetime.fromisoformat(in_days["expires_at"])
    assert before + timedelta(days=30) <= expires <= datetime.now(UTC) + timedelta(days=30)
    at = _create(client, expires_at="2099-01-31T00:00:00Z")
    assert datetime.fromisoformat(at["expires_at"]) == datetime(2099, 1, 31, tzinfo=UTC)


def test_a_revoked_key_is_refused_from_its_next_request_on(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    created = _create(client)
    with api_stack.client(created["key"]) as other:
        assert other.get("/v1/pricing").status_code == 200
        revoked = client.post(f"/v1/keys/{created['key_id']}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
        refused = other.get("/v1/pricing")
    assert refused.status_code == 401
    said, _, at = refused.json()["detail"].partition(" at ")
    assert said == f"API key {created['key_id']} was revoked"
    assert datetime.fromisoformat(at) == datetime.fromisoformat(revoked.json()["revoked_at"])
    [listed] = [k for k in client.get("/v1/keys").json()["keys"] if k["key_id"] == created["key_id"]]
    assert listed["status"] == "revoked"


def test_revoking_again_keeps_the_first_time(tenant) -> None:
    _, client = tenant
    key_id = _create(client)["key_id"]
    first = client.post(f"/v1/keys/{key_id}/revoke").json()
    again = client.post(f"/v1/keys/{key_id}/revoke")
    assert again.status_code == 200 and again.json() == first


def test_a_key_may_revoke_itself_and_is_refused_afterwards(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    created = _create(client)
    with api_stack.client(created["key"]) as itself:
        revoked = itself.post(f"/v1/keys/{created['key_id']}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["current"] and revoked.json()["status"] == "revoked"
        assert itself.get("/v1/keys").status_code == 401
    assert client.get("/v1/pricing").status_code == 200  # the tenant's other keys are untouched


def test_an_expired_key_is_refused_saying_when_it_expired(api_stack: ApiStack, monkeypatch) -> None:
    tenant_id, _ = api_stack.new_tenant()
    expires = datetime.now(UTC) + timedelta(hours=1)
    key, record = api_stack.store.create_key(tenant_id, "short-lived", expires_at=expires)
    with api_stack.client(key) as client:
        assert client.get("/v1/pricing").status_code == 200
        # The clock moves, not the test: a real wait raced the first request on a loaded machine.
        monkeypatch.setattr("meterstream.api.store.now", lambda: expires + timedelta(seconds=1))
        refused = client.get("/v1/pricing")
        refused_write = client.post("/v1/keys", json={"name": "renewal"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["detail"] == f"API key {record.key_id} expired at {expires.isoformat()}"
    assert refused_write.status_code == 401  # refused before the body is read, too


def test_an_expired_key_is_listed_as_expired(api_stack: ApiStack) -> None:
    tenant_id, key = api_stack.new_tenant()
    expires = datetime.now(UTC) + timedelta(milliseconds=200)
    _, record = api_stack.store.create_key(tenant_id, "short-lived", expires_at=expires)
    time.sleep(0.3)
    with api_stack.client(key) as client:
        [listed] = [k for k in client.get("/v1/keys").json()["keys"] if k["key_id"] == record.key_id]
    assert listed["status"] == "expired" and datetime.fromisoformat(listed["expires_at"]) == expires


def test_a_tenant_sees_only_its_own_keys(api_stack: ApiStack) -> None:
    _, key_a = api_stack.new_tenant()
    _, key_b = api_stack.new_tenant()
    with api_stack.client(key_a) as a, api_stack.client(key_b) as b:
        made_by_a = _create(a)["key_id"]
        made_by_b = _create(b)["key_id"]
        seen_by_a = {k["key_id"] for k in a.get("/v1/keys").json()["keys"]}
        seen_by_b = {k["key_id"] for k in b.get("/v1/keys").json()["keys"]}
    assert made_by_a in seen_by_a and made_by_b not in seen_by_a
    assert made_by_b in seen_by_b and made_by_a not in seen_by_b
    assert len(seen_by_a) == len(seen_by_b) == 2


def test_a_tenant_cannot_revoke_another_tenant_s_key_which_answers_404(api_stack: ApiStack) -> None:
    _, key_a = api_stack.new_tenant()
    _, key_b = api_stack.new_tenant()
    with api_stack.client(key_a) as a, api_stack.client(key_b) as b:
        created_by_a = _create(a)
        created_by_b = _create(b)
        for client, foreign in ((b, created_by_a), (a, created_by_b)):
            refused = client.post(f"/v1/keys/{foreign['key_id']}/revoke")
            assert refused.status_code == 404, refused.text
            assert refused.json()["detail"] == f"API key {foreign['key_id']} not found"
        unknown = a.post("/v1/keys/000000000000/revoke")
        for created in (created_by_a, created_by_b):
            with api_stack.client(created["key"]) as still:
                assert still.get("/v1/pricing").status_code == 200
    assert unknown.status_code == 404 and unknown.json()["detail"] == "API key 000000000000 not found"


def test_a_portal_token_may_not_list_create_or_revoke_keys(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    key_id = _create(client)["key_id"]
    session_id = client.post("/v1/sessions", json={"user_id": "amira"}).json()["session_id"]
    token = client.post(f"/v1/sessions/{session_id}/tokens", json={}).json()["token"]
    with api_stack.client(token) as browser:
        answers = [browser.get("/v1/keys"), browser.post("/v1/keys", json={"name": "stolen"}),
                   browser.post(f"/v1/keys/{key_id}/revoke")]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert all("portal token" in a.json()["detail"] for a in answers)
    assert [k["status"] for k in client.get("/v1/keys").json()["keys"]] == ["active", "active"]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 129}, "name"),
    ({"name": "tab\there"}, "name"),
    ({}, "name"),
    ({"name": "ok", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "ok", "expires_in_days": -3}, "expires_in_days"),
    ({"name": "ok", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "ok", "expires_at": "2099-01-01T00:00:00"}, "expires_at"),  # no time zone
    ({"name": "ok", "expires_in_days": 3, "expires_at": "2099-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "ok", "secret": "mine"}, "secret"),
])
def test_a_bad_name_or_expiry_answers_422_naming_the_field(tenant, body: dict, field: str) -> None:
    _, client = tenant
    refused = client.post("/v1/keys", json=body)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == [field]
    assert [k["current"] for k in client.get("/v1/keys").json()["keys"]] == [True]  # nothing was made
