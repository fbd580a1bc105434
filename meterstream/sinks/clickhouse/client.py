"""Opening clickhouse-connect from a DSN: chdb:// for the embedded engine, http(s):// for a server."""

from __future__ import annotations

import signal
import threading

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from meterstream.errors import InfrastructureUnavailable

# Session settings for every query. usage_events is partitioned by month of occurred_at and
# every copy of a row (same event, so same occurred_at) lands in the same partition, so FINAL
# may collapse duplicates partition by partition instead of across all of them: exact, and
# 3-7x faster on a month of 10 million stored events (bench/, scenario 6).
QUERY_SETTINGS = {"do_not_merge_across_partitions_select_final": 1}

# chDB runs one engine per process: every caller in this process shares its client.
_embedded: dict[str, Client] = {}
_embedded_lock = threading.Lock()


def connect(dsn: str) -> Client:
    if dsn.startswith("chdb://"):
        with _embedded_lock:
            if dsn not in _embedded:
                _embedded[dsn] = _open_embedded(dsn)
            return _embedded[dsn]
    return _open(dsn)


def _open_embedded(dsn: str) -> Client:
    """Open chDB, keeping this process's own SIGINT/SIGTERM handling.

    The embedded server installs ClickHouse's signal handlers: Ctrl-C then shut the engine
    down ("The server is shutting down due to a fatal error") instead of reaching Python,
    and the process never stopped (seen in the demo). Python's handlers are put back.
    """
    if threading.current_thread() is not threading.main_thread():
        return _open(dsn)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    client = _open(dsn)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    return client


def _open(dsn: str) -> Client:
    try:
        return clickhouse_connect.get_client(dsn=dsn, settings=QUERY_SETTINGS)
    except Exception as error:  # noqa: BLE001 - every backend fails differently; say which DSN
        hint = ""
        if dsn.startswith("chdb://") and "EmbeddedServer" in str(error):
            hint = " (another process holds this embedded ClickHouse folder; stop it or query through it)"
        raise InfrastructureUnavailable(f"cannot open ClickHouse at {dsn}: {error}{hint}") from error
