"""`meterstream webhooks create|list|delete|deliveries`.

Webhooks are written to and listed from their Kafka topic, which every API host reads, so
they work with or without a running `serve`. The delivery log is this host's (its SQLite
file, which `serve` here fills).
"""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from meterstream.cli.alerts import alert_store
from meterstream.cli.common import console
from meterstream.errors import MeterstreamError
from meterstream.settings import Settings


def _webhooks(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.alerts.webhooks import WebhookRegistry  # Kafka clients: loaded for this group only
    from meterstream.devstack import ensure_topics

    ensure_topics(settings)
    registry = WebhookRegistry(settings)
    store = alert_store(settings)
    try:
        if args.action == "create":
            from meterstream.api.alert_models import WebhookCreate

            try:
                body = WebhookCreate(url=args.url, description=args.description)
            except ValidationError as error:
                raise MeterstreamError(f"--url {args.url!r}: {error.errors()[0]['msg']}") from None
            webhook, secret = registry.create_webhook(args.tenant, body.url, body.description)
            console.print(f"webhook {webhook.webhook_id} for tenant {webhook.tenant_id} → {webhook.url}; "
                          "its signing secret is shown once, store it now:")
            print(secret)
        elif args.action == "list":
            for w in registry.list_webhooks(args.tenant):
                print(f"{w.webhook_id}\t{w.tenant_id}\t{w.url}\t{w.description}\t{w.created_at:%Y-%m-%d %H:%M}")
        elif registry.get_webhook(args.webhook_id) is None:
            console.print(f"no webhook {args.webhook_id} on {registry.table.topic}")
            return 4
        elif args.action == "delete":
            webhook = registry.delete_webhook(args.webhook_id)
            assert webhook is not None
            console.print(f"webhook {webhook.webhook_id} of tenant {webhook.tenant_id} deleted")
        else:
            for d in store.deliveries(args.webhook_id):
                print(f"{d.alert_id}\t{d.status}\ttries {d.attempts}\t{d.last_status_code or '-'}\t{d.last_error or ''}")
                for t in d.tries:
                    print(f"  {t.at:%Y-%m-%d %H:%M:%S}\t{t.status_code or '-'}\t{t.duration_ms} ms\t{t.error or ''}")
        return 0
    finally:
        registry.close()


def register(commands: argparse._SubParsersAction) -> None:
    webhooks = commands.add_parser("webhooks", help="create, list and delete webhooks; read their delivery log")
    actions = webhooks.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="register a URL for a tenant's alerts; prints its secret once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--url", required=True, help="an http(s) URL; redirects are not followed")
    create.add_argument("--description", default="")
    listing = actions.add_parser("list", help="list active webhooks (never their secrets)")
    listing.add_argument("--tenant")
    delete = actions.add_parser("delete", help="stop sending to a webhook")
    delete.add_argument("webhook_id")
    deliveries = actions.add_parser("deliveries", help="a webhook's delivery log: each alert and every try")
    deliveries.add_argument("webhook_id")
    webhooks.set_defaults(handler=_webhooks)
