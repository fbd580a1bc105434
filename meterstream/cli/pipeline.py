"""`meterstream worker|budget-owner|sink|serve|demo`: the pipeline's long-running processes."""

from __future__ import annotations

import argparse
import logging
import threading

from meterstream.cli.common import console
from meterstream.settings import Settings

log = logging.getLogger("meterstream")


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.devstack import ensure_topics
    from meterstream.stream.app import run_worker

    ensure_topics(settings)
    run_worker(settings, loglevel=args.loglevel, budget_owner=args.budget_owner)
    return 0


def _budget_owner(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from meterstream.budgets.owner import run_budget_owner
    from meterstream.devstack import ensure_topics

    logging.basicConfig(level=args.loglevel.upper(), format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    ensure_topics(settings)
    run_budget_owner(settings, web_port=args.port or settings.budget_owner_port or 6067)
    return 0


def _sink(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    from meterstream.devstack import ensure_topics
    from meterstream.sinks.clickhouse import ClickHouseSink, connect
    from meterstream.sinks.runner import SinkRunner

    ensure_topics(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sink = ClickHouseSink(connect(settings.clickhouse_url), settings.clickhouse_database, settings.clickhouse_cluster)
    runner = SinkRunner(settings, sink)
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


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.api import ApiSettings
    from meterstream.api.serve import serve

    overrides: dict[str, object] = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if not args.alerts:
        overrides["alerts_enabled"] = False
    api_settings = ApiSettings().model_copy(update=overrides)
    console.print(f"meterstream API on http://{api_settings.host}:{api_settings.port} "
                  f"({'with' if args.sink else 'without'} the ClickHouse sink; {settings.clickhouse_url}; "
                  f"{'with' if api_settings.alerts_enabled else 'without'} webhook delivery)")
    serve(settings, api_settings, with_sink=args.sink)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.demo import run_demo

    run_demo(settings, events=args.events, sessions=args.sessions, rate=args.rate)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser("worker", help="run the Faust metering worker")
    worker.add_argument("--loglevel", default="warning")
    worker.add_argument("--no-budget-owner", dest="budget_owner", action="store_false",
                        help="do not start the budget owner beside the worker (run `meterstream budget-owner` elsewhere)")
    worker.set_defaults(handler=_worker)

    owner = commands.add_parser("budget-owner", help="run the budget owner alone (`worker` starts one beside itself)")
    owner.add_argument("--port", type=int, help="its HTTP port (default METERSTREAM_BUDGET_OWNER_PORT or 6067)")
    owner.add_argument("--loglevel", default="warning")
    owner.set_defaults(handler=_budget_owner)

    commands.add_parser("sink", help="run the ClickHouse sink").set_defaults(handler=_sink)

    serve = commands.add_parser("serve", help="run the HTTP API and dashboard (with the ClickHouse sink)")
    serve.add_argument("--host", help="default METERSTREAM_API_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default METERSTREAM_API_PORT or 8000")
    serve.add_argument("--no-sink", dest="sink", action="store_false",
                       help="do not run the sink here (for a ClickHouse server, with `meterstream sink` elsewhere)")
    serve.add_argument("--no-alerts", dest="alerts", action="store_false",
                       help="do not relay alerts or deliver webhooks here (another API process does)")
    serve.set_defaults(handler=_serve)

    demo = commands.add_parser("demo", help="run the whole pipeline on a realistic workload")
    demo.add_argument("--events", type=int, default=5000)
    demo.add_argument("--sessions", type=int, default=20)
    demo.add_argument("--rate", type=float, default=1000.0, help="events per second to emit at most")
    demo.set_defaults(handler=_demo)
