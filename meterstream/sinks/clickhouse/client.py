"""Opening clickhouse-connect from a DSN: chdb:// for the embedded engine, http(s):// for a server."""

from __future__ import annotations

import threading

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from meterstream.errors import InfrastructureUnavailable

# chDB runs one engine per process: every caller in this process shares its client.
_embedded: dict[str, Client] = {}
_embedded_lock = threading.Lock()


def connect(dsn: str) -> Client:
    if dsn.startswith("chdb://"):
        with _embedded_lock:
            if dsn not in _embedded:
                _embedded[dsn] = _open(dsn)
            return _embedded[dsn]
    return _open(dsn)


def _open(dsn: str) -> Client:
    try:
        return clickhouse_connect.get_client(dsn=dsn)
    except Exception as error:  # noqa: BLE001 - every backend fails differently; say which DSN
        hint = ""
        if dsn.startswith("chdb://") and "EmbeddedServer" in str(error):
            hint = " (another process holds this embedded ClickHouse folder; stop it or query through it)"
        raise InfrastructureUnavailable(f"cannot open ClickHouse at {dsn}: {error}{hint}") from error
