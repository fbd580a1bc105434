"""Opening clickhouse-connect from a DSN: chdb:// for the embedded engine, http(s):// for a server."""

from __future__ import annotations

import fcntl
import signal
import threading
from pathlib import Path

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


class EmbeddedClickHouseHeld(InfrastructureUnavailable):
    """Another process has the embedded ClickHouse folder open (one process owns a folder)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        super().__init__(f"the embedded ClickHouse at {dsn} is open in another process (`meterstream serve`, "
                         "the sink or the demo): only one process can open it")


def embedded_path(dsn: str) -> Path:
    return Path(dsn.removeprefix("chdb://"))


def held_elsewhere(dsn: str) -> bool:
    """Whether another process holds the embedded folder: the engine keeps an exclusive flock on its
    `status` file. Asked before opening, because a failed open prints the engine's whole error dump."""
    status = embedded_path(dsn) / "status"
    try:
        with status.open("rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(file, fcntl.LOCK_UN)
    except FileNotFoundError:
        return False
    return False


def connect(dsn: str) -> Client:
    if dsn.startswith("chdb://"):
        with _embedded_lock:
            if dsn not in _embedded:
                if not _embedded and held_elsewhere(dsn):
                    raise EmbeddedClickHouseHeld(dsn)
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
