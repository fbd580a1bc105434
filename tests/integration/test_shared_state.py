"""Keys and sessions on their compacted topics, on the real broker: two stores stand for two
API hosts that share nothing but Kafka."""

from __future__ import annotations

import concurrent.futures
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer

from meterstream.api.errors import SessionEnded, SessionNotFound, SessionOfAnotherTenant, Unauthorized
from meterstream.api.store import ApiStore, KeyStore, split_key
from meterstream.devstack import KafkaBroker, ensure_topics, isolated_settings
from meterstream.errors import MeterstreamError
from meterstream.settings import Settings
from tests.conftest import eventually, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka_broker: KafkaBroker, tmp_path: Path) -> Settings:
    settings = isolated_settings(unique_name("state"), kafka_broker.bootstrap, "", tmp_path / "data")
    ensure_topics(settings)
    return settings


@pytest.fixture
def hosts(settings: Settings):
    a, b = ApiStore(settings).wait_ready(), ApiStore(settings).wait_ready()
    yield a, b
    a.close()
    b.close()


def test_a_created_key_authenticates_as_its_tenant_here_and_on_another_host_at_once(hosts) -> None:
    a, b = hosts
    key, record = a.create_key("acme", "ci")
    assert key.startswith(f"msk_{record.key_id}_")
    assert a.authenticate(key).tenant_id == "acme"
    assert b.authenticate(key).tenant_id == "acme"  # unknown id: b catches up before refusing


def test_a_key_known_here_authenticates_from_memory_and_an_unseen_id_is_left_to_authenticate(hosts) -> None:
    a, _ = hosts
    key, _ = a.create_key("acme")
    assert a.authenticate_known(key).tenant_id == "acme"  # read back by the write: known here at once
    with pytest.raises(Unauthorized, match="unknown"):
        a.authenticate_known(key[:-1] + ("x" if key[-1] != "x" else "y"))  # known id, wrong secret
    unseen = "msk_0123456789ab_s3cret"
    assert a.authenticate_known(unseen) is None  # no round trip: authenticate catches up, then decides
    with pytest.raises(Unauthorized, match="unknown"):
        a.authenticate(unseen)


def test_only_a_hash_of_the_secret_is_on_the_topic(settings: Settings, hosts) -> None:
    a, _ = hosts
    key, record = a.create_key("acme")
    stored = a.keys.view.values[record.key_id]
    secret = split_key(key)[1]
    assert secret not in repr(stored) and len(stored["secret_sha256"]) == 64


@pytest.mark.parametrize("presented", ["", "msk_", "Bearer x", "msk_abc_wrong"])
def test_malformed_and_unknown_keys_are_refused(hosts, presented: str) -> None:
    a, _ = hosts
    a.create_key("acme")
    with pytest.raises(Unauthorized):
        a.authenticate(presented)


def test_a_key_with_the_right_id_but_a_wrong_secret_is_refused(hosts) -> None:
    a, _ = hosts
    _, record = a.create_key("acme")
    with pytest.raises(Unauthorized, match="unknown"):
        a.authenticate(f"msk_{record.key_id}_{'x' * 43}")


def test_a_revoked_key_is_refused_at_once_where_revoked_and_soon_elsewhere(hosts) -> None:
    a, b = hosts
    key, record = a.create_key("acme")
    assert b.authenticate(key)
    first = b.revoke_key(record.key_id)
    with pytest.raises(Unauthorized, match="revoked"):
        b.authenticate(key)

    def refused_on_a() -> bool:
        try:
            a.authenticate(key)
        except Unauthorized:
            return True
        return False

    eventually(refused_on_a, timeout=2, what="the revocation on the other host")
    assert a.revoke_key(record.key_id).revoked_at == first.revoked_at  # again: the first time stays
    [listed] = a.list_keys("acme")
    assert listed.revoked_at == first.revoked_at
    assert a.revoke_key("nope") is None


def test_a_key_past_its_expiry_is_refused_on_every_host_with_when(hosts, monkeypatch) -> None:
    a, b = hosts
    expires = datetime.now(UTC) + timedelta(hours=1)
    key, record = a.create_key("acme", "short", expires_at=expires)
    assert a.authenticate(key).expires_at == expires
    assert b.authenticate(key).expires_at == expires  # the expiry is in the record every host reads
    # The clock moves, not the test: a real wait raced the second host's read on a loaded machine.
    after = expires + timedelta(seconds=1)
    monkeypatch.setattr("meterstream.api.store.now", lambda: after)
    for host in (a, b):
        with pytest.raises(Unauthorized, match=re.escape(f"expired at {expires.isoformat()}")):
            host.authenticate(key)
        assert host.key_revoked(record.key_id)  # its portal tokens stop too
    [listed] = a.list_keys("acme")
    assert listed.status(after) == "expired"


def test_a_key_cannot_be_made_already_expired(hosts) -> None:
    a, _ = hosts
    with pytest.raises(MeterstreamError, match="in the future"):
        a.create_key("acme", expires_at=datetime.now(UTC) - timedelta(seconds=1))


def test_a_tenant_s_revoke_leaves_another_tenant_s_key_alone(hosts) -> None:
    a, b = hosts
    key, record = a.create_key("acme")
    assert b.revoke_key(record.key_id, tenant_id="globex") is None
    assert a.authenticate(key).revoked_at is None
    assert b.revoke_key(record.key_id, tenant_id="acme").revoked_at is not None


def test_the_cli_store_needs_no_running_api(settings: Settings, hosts) -> None:
    a, _ = hosts
    cli = KeyStore(settings)  # what `meterstream keys create` opens
    try:
        key, _ = cli.create_key("acme")
        assert [k.tenant_id for k in cli.list_keys("acme")] == ["acme"]
    finally:
        cli.close()
    assert a.authenticate(key).tenant_id == "acme"
    with pytest.raises(MeterstreamError, match="tenant id"):
        a.create_key("acme corp")


def test_a_process_started_later_reads_the_state_before_answering(settings: Settings, hosts) -> None:
    a, _ = hosts
    key, _ = a.create_key("acme")
    session = a.start_session("acme", "amira", {"app": "studio"})
    a.end_session("acme", session.session_id)
    late = ApiStore(settings).wait_ready()
    try:
        assert late._value(split_key(key)[0]) is not None  # from the initial read, no catch-up needed
        assert late._session(session.session_id) == a._session(session.session_id)
    finally:
        late.close()


def test_a_session_started_on_one_host_is_visible_and_ended_on_the_other(hosts) -> None:
    a, b = hosts
    started = a.start_session("acme", "amira", {"app": "studio"})
    assert b.get_session("acme", started.session_id) == started
    assert [s.session_id for s in b.list_sessions("acme")] == [started.session_id]
    ended = a.end_session("acme", started.session_id)
    with pytest.raises(SessionEnded) as refused:
        b.session_for_usage("acme", started.session_id, None)  # at once: b catches up before deciding
    assert refused.value.ended_at == ended.ended_at
    assert b.end_session("acme", started.session_id).ended_at == ended.ended_at


def test_usage_for_a_new_session_id_starts_it_implicitly(hosts) -> None:
    a, b = hosts
    record = a.session_for_usage("acme", "s-1", "amira")
    assert (record.started_by, record.user_id, record.active) == ("implicit", "amira", True)
    assert b.session_for_usage("acme", "s-1", "other").user_id == "amira"


def test_a_session_is_invisible_to_other_tenants(hosts) -> None:
    a, b = hosts
    session = a.start_session("acme")
    with pytest.raises(SessionNotFound):
        b.get_session("globex", session.session_id)
    with pytest.raises(SessionNotFound):
        b.end_session("globex", session.session_id)
    with pytest.raises(SessionOfAnotherTenant):
        b.session_for_usage("globex", session.session_id, None)
    assert b.list_sessions("globex") == []


def test_concurrent_claims_of_one_id_by_two_tenants_have_one_winner_on_both_hosts(hosts) -> None:
    a, b = hosts
    for round_ in range(20):
        session_id = f"race-{round_}"

        def claim(store: ApiStore, tenant: str) -> str:
            try:
                store.session_for_usage(tenant, session_id, None)
                return "won"
            except SessionOfAnotherTenant:
                return "403"

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(claim, (a, b), ("acme", "globex")))
        assert sorted(outcomes) == ["403", "won"], outcomes
        winner = "acme" if outcomes[0] == "won" else "globex"
        assert a.get_session(winner, session_id).tenant_id == b.get_session(winner, session_id).tenant_id == winner


def test_a_record_the_table_cannot_read_is_skipped(settings: Settings, hosts) -> None:
    a, _ = hosts
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(settings.topic_sessions, b"not json", key=b"junk", partition=0)
    producer.produce(settings.topic_sessions, b'{"kind": "claim"}', key=b"junk2", partition=0)
    producer.flush(10)
    a.sessions.sync()
    assert a.start_session("acme").active


def test_keys_sessions_and_webhooks_of_an_old_sqlite_file_move_to_kafka_once(settings: Settings, tmp_path: Path,
                                                                              hosts) -> None:
    import hashlib
    import sqlite3

    from meterstream.alerts.store import AlertStore
    from meterstream.alerts.webhooks import WebhookRegistry
    from meterstream.api.legacy import import_local_state

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
            secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
        CREATE TABLE sessions (session_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, user_id TEXT,
            labels TEXT NOT NULL DEFAULT '{}', started_at TEXT NOT NULL, ended_at TEXT, started_by TEXT NOT NULL);""")
    db.execute("INSERT INTO api_keys VALUES ('0123456789ab', 'acme', 'old', ?, '2026-01-01T00:00:00+00:00', NULL)",
               (hashlib.sha256(b"s3cret").hexdigest(),))
    db.execute("INSERT INTO sessions VALUES ('old-1', 'acme', 'amira', '{\"app\": \"x\"}', "
               "'2026-01-01T00:00:00+00:00', '2026-01-01T01:00:00+00:00', 'explicit')")
    db.commit()
    db.close()
    local = AlertStore(path)
    webhook, _ = local.create_webhook("acme", "https://example.com/old")

    a, b = hosts
    registry = WebhookRegistry(settings, mirror=local).wait_ready()
    try:
        assert import_local_state(path, a, registry) == {"keys": 1, "sessions": 1, "webhooks": 1}
        assert import_local_state(path, a, registry) == {}
        assert b.authenticate("msk_0123456789ab_s3cret").tenant_id == "acme"
        moved = b.get_session("acme", "old-1")
        assert (moved.user_id, moved.labels, moved.ended_at.hour) == ("amira", {"app": "x"}, 1)
        assert [w.webhook_id for w in registry.list_webhooks("acme")] == [webhook.webhook_id]
    finally:
        registry.close()


def test_sessions_for_usage_decides_each_session_as_one_at_a_time_would(hosts) -> None:
    a, b = hosts
    ended = a.start_session("acme")
    a.end_session("acme", ended.session_id)  # on a; b decides right after, without having read it
    foreign = a.session_for_usage("globex", "theirs", None)
    live = a.session_for_usage("acme", "live", "amira")
    found = b.sessions_for_usage("acme", {"new-1": "bo", "new-2": None, ended.session_id: None,
                                          foreign.session_id: None, live.session_id: "other"})
    assert isinstance(found[ended.session_id], SessionEnded)
    assert isinstance(found[foreign.session_id], SessionOfAnotherTenant)
    assert found[live.session_id].user_id == "amira"  # known: not started again
    assert (found["new-1"].user_id, found["new-1"].started_by, found["new-2"].tenant_id) == ("bo", "implicit", "acme")
    assert a.session_for_usage("acme", "new-1", "later").user_id == "bo"  # claimed on the topic, seen on a
