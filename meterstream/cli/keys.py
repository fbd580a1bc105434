"""`meterstream keys create|list|revoke`: API keys, stored hashed on the keys topic.

Works through Kafka alone: no API process needs to be running, and every running one sees
the change (the host that wrote it at once, the others within about a second).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from meterstream.cli.common import console
from meterstream.errors import MeterstreamError
from meterstream.settings import Settings

if TYPE_CHECKING:
    from meterstream.api.store import KeyStore


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.api.store import KeyStore
    from meterstream.devstack import ensure_topics

    ensure_topics(settings)
    store = KeyStore(settings)
    try:
        return _act(args, store)
    finally:
        store.close()


def _expiry(args: argparse.Namespace) -> datetime | None:
    """When a new key expires, from --expires-in-days or --expires-at (None: never)."""
    if args.expires_in_days is not None:
        if args.expires_in_days < 1:
            raise MeterstreamError(f"--expires-in-days must be 1 or more, not {args.expires_in_days}")
        return datetime.now(UTC) + timedelta(days=args.expires_in_days)
    if args.expires_at is None:
        return None
    try:
        at = datetime.fromisoformat(args.expires_at)
    except ValueError:
        raise MeterstreamError(f"--expires-at {args.expires_at!r} is not an ISO 8601 time") from None
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)  # no zone: UTC


def _act(args: argparse.Namespace, store: KeyStore) -> int:
    if args.action == "create":
        key, record = store.create_key(args.tenant, args.name, _expiry(args))
        until = f", expires {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else ""
        console.print(f"key {record.key_id} for tenant {record.tenant_id}{until}; it is shown once, store it now:")
        print(key)
    elif args.action == "revoke":
        record = store.revoke_key(args.key_id)
        if record is None:
            console.print(f"no key {args.key_id} on {store.keys.topic}")
            return 4
        console.print(f"key {record.key_id} of tenant {record.tenant_id} revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S}")
    else:
        at = datetime.now(UTC)
        for k in store.list_keys(args.tenant):
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else k.status(at)
            expiry = f"expires {k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "no expiry"
            print(f"{k.key_id}\t{k.tenant_id}\t{k.name}\t{k.created_at:%Y-%m-%d %H:%M}\t{state}\t{expiry}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys (stored hashed, shared through Kafka)")
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="make a key for a tenant; prints it once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="", help="what the key is for")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in-days", type=int, metavar="N", help="refuse the key N days from now")
    expiry.add_argument("--expires-at", metavar="TIME",
                        help="refuse the key from TIME on (ISO 8601, e.g. 2027-01-31T00:00Z; UTC without a zone)")
    revoke = key_actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    listing = key_actions.add_parser("list", help="list keys with their state and expiry (never their secrets)")
    listing.add_argument("--tenant")
    keys.set_defaults(handler=_keys)
