"""`meterstream alerts`: the alert feed, one line per alert.

The feed is this host's (its SQLite file, which `serve` here fills), read directly while
`serve` runs. Webhooks have their own group (webhooks.py).
"""

from __future__ import annotations

import argparse
import time

from meterstream.alerts.store import AlertStore, StoredAlert
from meterstream.settings import Settings

FOLLOW_POLL_SECONDS = 0.5


def alert_store(settings: Settings) -> AlertStore:
    from meterstream.api import ApiSettings

    return AlertStore(ApiSettings().state_file(settings))


def _line(alert: StoredAlert) -> str:
    record = alert.record
    return f"{record.raised_at:%Y-%m-%d %H:%M:%S}\t{record.kind.value}\t{record.tenant_id}\t{record.title}"


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    store = alert_store(settings)
    seq = store.last_seq()
    for alert in reversed(store.list_alerts(args.tenant, args.limit)):
        print(_line(alert), flush=True)
    while args.follow:
        for alert in store.alerts_after(seq, args.tenant):
            seq = alert.seq
            print(_line(alert), flush=True)
        time.sleep(FOLLOW_POLL_SECONDS)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    alerts = commands.add_parser("alerts", help="the alert feed: one line per alert (time, kind, tenant, title)")
    alerts.add_argument("--tenant", help="only this tenant's alerts")
    alerts.add_argument("--limit", type=int, default=50, help="how many recent alerts to show first (50)")
    alerts.add_argument("--follow", action="store_true", help="keep printing new alerts until Ctrl-C")
    alerts.set_defaults(handler=_alerts)
