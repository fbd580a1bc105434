"""The `meterstream` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Callable

from rich.console import Console

from meterstream.errors import InvalidUsageEvent, MeterstreamError
from meterstream.settings import Settings, get_settings

console = Console(stderr=True)
log = logging.getLogger("meterstream")


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.devstack.pipeline import local_broker

    broker = local_broker(settings)
    if args.action == "start":
        with console.status(f"starting Kafka on {broker.bootstrap} (data in {broker.data_dir})..."):
            broker.start()
        console.print(f"Kafka is up on {broker.bootstrap} (pid {broker.pid()}); log: {broker.log_file}")
    elif args.action == "stop":
        console.print("Kafka stopped" if broker.stop() else "Kafka was not running")
    else:
        pid = broker.pid()
        console.print(f"Kafka is running on {broker.bootstrap} (pid {pid})" if pid else "Kafka is not running")
        return 0 if pid else 3
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.devstack import ensure_topics
    from meterstream.stream.app import run_worker

    ensure_topics(settings)
    run_worker(settings, loglevel=args.loglevel)
    return 0


def _sink(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    from meterstream.devstack import ensure_topics
    from meterstream.sinks.clickhouse import ClickHouseSink, connect
    from meterstream.sinks.runner import SinkRunner

    ensure_topics(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner = SinkRunner(settings, ClickHouseSink(connect(settings.clickhouse_url), settings.clickhouse_database))
    if settings.sink_metrics_port:
        from prometheus_client import start_http_server

        from meterstream.sinks.metrics import sink_registry

        start_http_server(settings.sink_metrics_port, addr="127.0.0.1", registry=sink_registry(runner.counts))
    console.print(f"sink: {settings.topic_priced} -> {settings.clickhouse_url} ({settings.clickhouse_database})")
    try:
        runner.run(stop, on_batch=lambda c: log.info("stored %d rows in %d batches", c.stored, c.batches))
    except KeyboardInterrupt:
        pass
    return 0


def _emit(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.producers import UsageEmitter
    from meterstream.producers.workload import studio_workload

    with UsageEmitter(settings) as emitter:
        if args.file:
            source = sys.stdin if args.file == "-" else open(args.file)
            for number, line in enumerate(source, 1):
                if not line.strip():
                    continue
                try:
                    emitter.emit(json.loads(line))
                except (InvalidUsageEvent, json.JSONDecodeError) as error:
                    console.print(f"[red]line {number}:[/] {error}")
                    return 2
        else:
            for event in studio_workload(args.sample, sessions=args.sessions):
                emitter.emit(event)
    counts = emitter.counts()
    console.print(f"delivered {counts['delivered']:,} events to {settings.topic_events}"
                  + (f"; {counts['spooled']:,} spooled in {emitter.spool.directory} for replay" if counts["spooled"] else ""))
    return 0 if counts["spooled"] == 0 else 1


def _sessions(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.devstack.pipeline import WorkerProcess

    totals = WorkerProcess(settings).session_totals(args.session_id)
    if totals is None:
        console.print(f"unknown session {args.session_id}")
        return 4
    print(totals.model_dump_json(indent=2))
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from decimal import Decimal

    from rich.table import Table

    from meterstream.sinks.clickhouse import CostReport, connect, run_report

    report = CostReport(settings.clickhouse_database, group_by=tuple(args.group_by.split(",")),
                        tenant_id=args.tenant, session_id=args.session)
    result = run_report(connect(settings.clickhouse_url), report)
    if args.json:
        rows = [dict(zip(result.columns, (str(v) if isinstance(v, Decimal) else v for v in row)))
                for row in result.rows]
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"cost by {args.group_by}")
    for column in result.columns:
        table.add_column(column, justify="left" if column in report.group_by else "right")
    for row in result.rows:
        table.add_row(*(str(v) for v in row))
    Console().print(table)
    return 0


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.reconcile import reconcile
    from meterstream.sinks.clickhouse import connect

    with console.status("reading the source and DLQ topics, the worker and ClickHouse..."):
        report = reconcile(settings, connect(settings.clickhouse_url), args.worker_url or None)
    if report.consistent:
        print(f"consistent: {report.summary()}")
        return 0
    print(f"INCONSISTENT ({len(report.differences)} differences): {report.summary()}")
    for line in report.differences:
        print(f"  - {line}")
    return 1


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.demo import run_demo

    run_demo(settings, events=args.events, sessions=args.sessions, rate=args.rate)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meterstream", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    kafka = commands.add_parser("kafka", help="run the local Kafka broker (from Maven Central jars)")
    kafka.add_argument("action", choices=("start", "stop", "status"))
    kafka.set_defaults(handler=_kafka)

    worker = commands.add_parser("worker", help="run the Faust metering worker")
    worker.add_argument("--loglevel", default="warning")
    worker.set_defaults(handler=_worker)

    commands.add_parser("sink", help="run the ClickHouse sink").set_defaults(handler=_sink)

    emit = commands.add_parser("emit", help="send JSON-lines events (FILE or -) or a sample workload")
    emit.add_argument("file", nargs="?", help="JSON-lines file of usage events, '-' for stdin")
    emit.add_argument("--sample", type=int, default=100, help="without FILE: how many sample events")
    emit.add_argument("--sessions", type=int, default=5)
    emit.set_defaults(handler=_emit)

    sessions = commands.add_parser("sessions", help="live totals of a session, from the worker")
    sessions.add_argument("session_id")
    sessions.set_defaults(handler=_sessions)

    report = commands.add_parser("report", help="cost and quantities from ClickHouse, grouped")
    report.add_argument("--group-by", default="service,model",
                        help="comma-separated: tenant_id, session_id, user_id, service, model, operation, pricing_status")
    report.add_argument("--tenant")
    report.add_argument("--session")
    report.add_argument("--json", action="store_true", help="JSON rows, money as exact decimal strings")
    report.set_defaults(handler=_report)

    reconcile = commands.add_parser("reconcile", help="check that the topic, the worker and ClickHouse agree")
    reconcile.add_argument("--worker-url", action="append", help="a worker's HTTP address (repeat for several)")
    reconcile.set_defaults(handler=_reconcile)

    demo = commands.add_parser("demo", help="run the whole pipeline on a realistic workload")
    demo.add_argument("--events", type=int, default=5000)
    demo.add_argument("--sessions", type=int, default=20)
    demo.add_argument("--rate", type=float, default=1000.0, help="events per second to emit at most")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        sys.exit(handler(args, get_settings()))
    except MeterstreamError as error:
        console.print(f"[red]error:[/] {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
