"""The API's key and session store (SQLite): hashed keys shown once, tenant-owned sessions."""

from pathlib import Path

import pytest

from meterstream.api.errors import SessionEnded, SessionNotFound, SessionOfAnotherTenant, Unauthorized
from meterstream.api.store import ApiStore
from meterstream.errors import MeterstreamError


@pytest.fixture
def store(tmp_path: Path) -> ApiStore:
    return ApiStore(tmp_path / "api.sqlite3")


def test_a_created_key_authenticates_as_its_tenant(store: ApiStore) -> None:
    key, record = store.create_key("acme", "ci")
    assert key.startswith(f"msk_{record.key_id}_")
    assert store.authenticate(key).tenant_id == "acme"


def test_only_a_hash_of_the_secret_is_stored(store: ApiStore) -> None:
    key, _ = store.create_key("acme")
    secret = key.rsplit("_", 1)[-1]
    assert secret.encode() not in store.path.read_bytes()


@pytest.mark.parametrize("presented", ["", "msk_", "Bearer x", "msk_abc_wrong"])
def test_malformed_and_unknown_keys_are_refused(store: ApiStore, presented: str) -> None:
    store.create_key("acme")
    with pytest.raises(Unauthorized):
        store.authenticate(presented)


def test_a_key_with_the_right_id_but_a_wrong_secret_is_refused(store: ApiStore) -> None:
    key, record = store.create_key("acme")
    with pytest.raises(Unauthorized, match="unknown"):
        store.authenticate(f"msk_{record.key_id}_{'x' * 43}")


def test_a_revoked_key_is_refused_and_listed_as_revoked(store: ApiStore) -> None:
    key, record = store.create_key("acme")
    store.revoke_key(record.key_id)
    with pytest.raises(Unauthorized, match="revoked"):
        store.authenticate(key)
    [listed] = store.list_keys("acme")
    assert listed.revoked_at is not None
    assert store.revoke_key("nope") is None


def test_a_tenant_id_that_events_would_refuse_is_refused_for_keys(store: ApiStore) -> None:
    with pytest.raises(MeterstreamError, match="tenant id"):
        store.create_key("acme corp")


def test_sessions_get_unique_server_ids(store: ApiStore) -> None:
    ids = {store.start_session("acme").session_id for _ in range(50)}
    assert len(ids) == 50


def test_usage_for_a_new_session_id_starts_it_implicitly(store: ApiStore) -> None:
    record = store.session_for_usage("acme", "s-1", "amira")
    assert (record.started_by, record.user_id, record.active) == ("implicit", "amira", True)
    assert store.session_for_usage("acme", "s-1", "other").user_id == "amira"


def test_an_ended_session_refuses_usage(store: ApiStore) -> None:
    session = store.start_session("acme")
    ended = store.end_session("acme", session.session_id)
    with pytest.raises(SessionEnded) as refused:
        store.session_for_usage("acme", session.session_id, None)
    assert refused.value.ended_at == ended.ended_at
    assert store.end_session("acme", session.session_id).ended_at == ended.ended_at


def test_a_session_is_invisible_to_other_tenants(store: ApiStore) -> None:
    session = store.start_session("acme")
    with pytest.raises(SessionNotFound):
        store.get_session("globex", session.session_id)
    with pytest.raises(SessionNotFound):
        store.end_session("globex", session.session_id)
    with pytest.raises(SessionOfAnotherTenant):
        store.session_for_usage("globex", session.session_id, None)
    assert store.list_sessions("globex") == []


def test_two_stores_on_one_file_see_each_others_keys(store: ApiStore) -> None:
    key, _ = ApiStore(store.path).create_key("acme")  # e.g. `meterstream keys create` beside `serve`
    assert store.authenticate(key).tenant_id == "acme"
