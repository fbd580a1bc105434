"""`meterstream keys …` and `meterstream webhooks …` through Kafka alone, as an operator runs
them: no API process is running, and what they write is what an API process later reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meterstream.alerts.webhooks import WebhookRegistry
from meterstream.api.store import ApiStore
from meterstream.cli import build_parser
from meterstream.devstack import KafkaBroker, isolated_settings
from meterstream.errors import MeterstreamError
from meterstream.settings import Settings
from tests.conftest import unique_name

pytestmark = pytest.mark.integration


def run(settings: Settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return args.handler(args, settings)


@pytest.fixture
def settings(kafka_broker: KafkaBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("METERSTREAM_API_STATE_PATH", raising=False)
    return isolated_settings(unique_name("cli"), kafka_broker.bootstrap, "", tmp_path / "data")


def test_keys_create_list_and_revoke_through_kafka(settings: Settings, capsys) -> None:
    assert run(settings, "keys", "create", "--tenant", "acme", "--name", "laptop") == 0
    key = capsys.readouterr().out.strip()
    key_id = key.split("_")[1]
    assert run(settings, "keys", "list", "--tenant", "acme") == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "active" in listed and key not in listed

    api = ApiStore(settings).wait_ready()  # an API process started afterwards
    try:
        assert api.authenticate(key).tenant_id == "acme"
        assert run(settings, "keys", "revoke", key_id) == 0
        api.keys.sync()
        assert api._value(key_id)["revoked_at"] is not None
    finally:
        api.close()
    assert run(settings, "keys", "revoke", "000000000000") == 4


def test_keys_create_with_an_expiry_and_list_shows_it(settings: Settings, capsys) -> None:
    assert run(settings, "keys", "create", "--tenant", "acme", "--expires-in-days", "30") == 0
    in_days = capsys.readouterr().out.strip()
    assert run(settings, "keys", "create", "--tenant", "acme", "--expires-at", "2099-01-31T00:00Z") == 0
    at = capsys.readouterr().out.strip()
    assert run(settings, "keys", "create", "--tenant", "acme") == 0
    capsys.readouterr()
    assert run(settings, "keys", "list", "--tenant", "acme") == 0
    lines = {line.split("\t")[0]: line for line in capsys.readouterr().out.splitlines()}
    expected = datetime.now(UTC) + timedelta(days=30)
    assert f"\tactive\texpires {expected:%Y-%m-%d} " in lines[in_days.split("_")[1]]
    assert lines[at.split("_")[1]].endswith("\tactive\texpires 2099-01-31 00:00")
    assert sum(line.endswith("\tno expiry") for line in lines.values()) == 1

    api = ApiStore(settings).wait_ready()
    try:
        record = api.authenticate(in_days)
        assert record.expires_at is not None
        assert abs(record.expires_at - expected) < timedelta(minutes=1)
    finally:
        api.close()


@pytest.mark.parametrize("option", [("--expires-in-days", "0"), ("--expires-at", "2020-01-01T00:00Z"),
                                    ("--expires-at", "next tuesday")])
def test_keys_create_refuses_an_expiry_that_is_not_in_the_future(settings: Settings, option: tuple[str, str]) -> None:
    with pytest.raises(MeterstreamError, match="expir"):
        run(settings, "keys", "create", "--tenant", "acme", *option)


def test_webhooks_create_prints_the_secret_once_and_list_never_does(settings: Settings, capsys) -> None:
    assert run(settings, "webhooks", "create", "--tenant", "acme", "--url", "https://example.com/hook") == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("whsec_")
    assert run(settings, "webhooks", "list") == 0
    listed = capsys.readouterr().out
    assert "https://example.com/hook" in listed and secret not in listed
    webhook_id = listed.split("\t")[0]

    registry = WebhookRegistry(settings).wait_ready()
    try:
        assert [w.webhook_id for w in registry.list_webhooks("acme")] == [webhook_id]
        assert run(settings, "webhooks", "delete", webhook_id) == 0
        assert registry.list_webhooks("acme") == []
    finally:
        registry.close()
    assert run(settings, "webhooks", "delete", "wh_nope") == 4
