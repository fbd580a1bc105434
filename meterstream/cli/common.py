"""What every command module shares: the console for messages (stderr; results go to stdout)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.console import Console

from meterstream.settings import Settings

console = Console(stderr=True)

Handler = Callable[[argparse.Namespace, Settings], int]


def connect_clickhouse(settings: Settings, err: Console = console) -> Any | None:
    """A ClickHouse client for `settings`, or None after saying why not (an embedded folder
    another process holds: a running sink, `serve` or demo)."""
    from meterstream.errors import InfrastructureUnavailable
    from meterstream.sinks.clickhouse import connect

    dsn = settings.clickhouse_url
    try:
        return connect(dsn)
    except InfrastructureUnavailable as error:
        if not dsn.startswith("chdb://"):
            raise
        err.print(f"[red]cannot open the embedded ClickHouse folder {dsn.removeprefix('chdb://')}[/]: another "
                  "process (a running sink, `serve` or demo) probably holds it. Stop it and retry, or point "
                  "METERSTREAM_CLICKHOUSE_DSN at a ClickHouse server.")
        err.print(f"[dim]{error}[/]")
        return None
