"""The `meterstream` command."""

from __future__ import annotations

import argparse
import json
import logging
import signal
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


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.api import ApiSettings
    from meterstream.api.serve import serve

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    api_settings = ApiSettings().model_copy(update=overrides)
    console.print(f"meterstream API on http://{api_settings.host}:{api_settings.port} "
                  f"({'with' if args.sink else 'without'} the ClickHouse sink; {settings.clickhouse_url})")
    serve(settings, api_settings, with_sink=args.sink)
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.api import ApiSettings
    from meterstream.api.store import ApiStore

    store = ApiStore(ApiSettings().state_file(settings))
    if args.action == "create":
        key, record = store.create_key(args.tenant, args.name)
        console.print(f"key {record.key_id} for tenant {record.tenant_id}; it is shown once, store it now:")
        print(key)
    elif args.action == "revoke":
        record = store.revoke_key(args.key_id)
        if record is None:
            console.print(f"no key {args.key_id} in {store.path}")
            return 4
        console.print(f"key {record.key_id} of tenant {record.tenant_id} revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S}")
    else:
        for k in store.list_keys(args.tenant):
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            print(f"{k.key_id}\t{k.tenant_id}\t{k.name}\t{k.created_at:%Y-%m-%d %H:%M}\t{state}")
    return 0


def _estimate(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.pricing_cli import run_estimate

    return run_estimate(args, settings)


def _reprice(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.pricing_cli import run_reprice

    return run_reprice(args, settings)


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


    serve = commands.add_parser("serve", help="run the HTTP API and dashboard (with the ClickHouse sink)")
    serve.add_argument("--host", help="default METERSTREAM_API_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default METERSTREAM_API_PORT or 8000")
    serve.add_argument("--no-sink", dest="sink", action="store_false",
                       help="do not run the sink here (for a ClickHouse server, with `meterstream sink` elsewhere)")
    serve.set_defaults(handler=_serve)

    keys = commands.add_parser("keys", help="create, list and revoke API keys (stored hashed)")
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="make a key for a tenant; prints it once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="", help="what the key is for")
    revoke = key_actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    listing = key_actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--tenant")
    keys.set_defaults(handler=_keys)

    from meterstream import pricing_cli

    estimate = commands.add_parser("estimate", help="what a planned call would cost, by the same rules as billing")
    pricing_cli.add_estimate_arguments(estimate)
    estimate.set_defaults(handler=_estimate)

    reprice = commands.add_parser("reprice", help="what stored usage costs under another catalog or model")
    pricing_cli.add_reprice_arguments(reprice)
    reprice.set_defaults(handler=_reprice)

    demo = commands.add_parser("demo", help="run the whole pipeline on a realistic workload")
    demo.add_argument("--events", type=int, default=5000)
    demo.add_argument("--sessions", type=int, default=20)
    demo.add_argument("--rate", type=float, default=1000.0, help="events per second to emit at most")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C must stop every command cleanly, even when started from a context that ignores
    # SIGINT (a background job of a non-interactive shell, some CI runners): Python would
    # then never raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
