"""The keys topic's rules for expiry, without Kafka: what a record says, and when the store
refuses the key it describes (the same record, so the same answer, on every host)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meterstream.api.records import ApiKey, api_key, key_refusal, key_value

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def key(**changes) -> ApiKey:
    return ApiKey(**{"key_id": "0123456789ab", "tenant_id": "acme", "name": "ci", "created_at": T0, **changes})


def test_a_key_with_an_expiry_keeps_it_on_the_topic() -> None:
    record = key(expires_at=T0 + timedelta(days=30))
    assert api_key(key_value(record, "0" * 64)) == record


def test_a_record_written_before_keys_could_expire_never_expires() -> None:
    old = {"key_id": "0123456789ab", "tenant_id": "acme", "name": "old", "secret_sha256": "0" * 64,
           "created_at": T0.isoformat(), "revoked_at": None}
    record = api_key(old)
    assert record.expires_at is None
    assert key_refusal(record, T0 + timedelta(days=10_000)) is None
    assert record.status(T0 + timedelta(days=10_000)) == "active"


def test_a_key_is_refused_from_its_expiry_on_saying_when_it_expired() -> None:
    expires = T0 + timedelta(hours=1)
    record = key(expires_at=expires)
    assert key_refusal(record, expires - timedelta(microseconds=1)) is None
    assert key_refusal(record, expires) == f"API key 0123456789ab expired at {expires.isoformat()}"
    assert record.status(expires) == "expired"


def test_a_revoked_key_says_revoked_even_once_past_its_expiry() -> None:
    record = key(expires_at=T0 + timedelta(hours=1), revoked_at=T0 + timedelta(minutes=5))
    later = T0 + timedelta(days=1)
    assert "revoked at" in (key_refusal(record, later) or "")
    assert record.status(later) == "revoked"
