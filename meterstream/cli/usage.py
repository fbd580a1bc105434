"""`meterstream emit` and `meterstream sessions`: send usage, read a session's live totals."""

from __future__ import annotations

import argparse
import json
import sys

from meterstream.errors import InvalidUsageEvent

from meterstream.cli.common import console
from meterstream.settings import Settings


def _emit(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.producers import UsageEmitter
    from meterstream.producers.workload import studio_workload

    emitted = 0
    with UsageEmitter(settings) as emitter:
        if args.file:
            source = sys.stdin if args.file == "-" else open(args.file)
            for number, line in enumerate(source, 1):
                if not line.strip():
                    continue
                try:
                    emitter.emit(json.loads(line))
                    emitted += 1
                except (InvalidUsageEvent, json.JSONDecodeError) as error:
                    console.print(f"[red]line {number}:[/] {error}")
                    return 2
        else:
            for event in studio_workload(args.sample, sessions=args.sessions):
                emitter.emit(event)
                emitted += 1
    counts = emitter.counts()  # in messages: several events share an envelope
    console.print(f"sent {emitted:,} events to {settings.topic_events} in {counts['delivered']:,} messages"
                  + (f"; {counts['spooled']:,} messages spooled in {emitter.spool.directory} for replay"
                     if counts["spooled"] else ""))
    return 0 if counts["spooled"] == 0 else 1


def _sessions(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.devstack.pipeline import WorkerProcess

    totals = WorkerProcess(settings).session_totals(args.session_id)
    if totals is None:
        console.print(f"unknown session {args.session_id}")
        return 4
    if args.json:
        print(totals.model_dump_json(indent=2))
    else:
        from rich.console import Console

        from meterstream.console_tables import session_table
        Console().print(session_table(totals))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    emit = commands.add_parser("emit", help="send JSON-lines events (FILE or -) or a sample workload")
    emit.add_argument("file", nargs="?", help="JSON-lines file of usage events, '-' for stdin")
    emit.add_argument("--sample", type=int, default=100, help="without FILE: how many sample events")
    emit.add_argument("--sessions", type=int, default=5)
    emit.set_defaults(handler=_emit)

    sessions = commands.add_parser("sessions", help="live totals of a session, from the worker")
    sessions.add_argument("session_id")
    sessions.add_argument("--json", action="store_true", help="the SessionTotals JSON, money as exact decimal strings")
    sessions.set_defaults(handler=_sessions)
