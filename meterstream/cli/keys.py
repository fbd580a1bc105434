"""`meterstream keys create|list|revoke`: API keys, stored hashed on the keys topic.

Works through Kafka alone: no API process needs to be running, and every running one sees
the change (the host that wrote it at once, the others within about a second).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from meterstream.cli.common import console
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


def _act(args: argparse.Namespace, store: KeyStore) -> int:
    if args.action == "create":
        key, record = store.create_key(args.tenant, args.name)
        console.print(f"key {record.key_id} for tenant {record.tenant_id}; it is shown once, store it now:")
        print(key)
    elif args.action == "revoke":
        record = store.revoke_key(args.key_id)
        if record is None:
            console.print(f"no key {args.key_id} on {store.keys.topic}")
            return 4
        console.print(f"key {record.key_id} of tenant {record.tenant_id} revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S}")
    else:
        for k in store.list_keys(args.tenant):
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            print(f"{k.key_id}\t{k.tenant_id}\t{k.name}\t{k.created_at:%Y-%m-%d %H:%M}\t{state}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys (stored hashed, shared through Kafka)")
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="make a key for a tenant; prints it once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="", help="what the key is for")
    revoke = key_actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    listing = key_actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--tenant")
    keys.set_defaults(handler=_keys)
