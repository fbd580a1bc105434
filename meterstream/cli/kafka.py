"""`meterstream kafka start|stop|status`: the local broker from Maven Central jars."""

from __future__ import annotations

import argparse

from meterstream.cli.common import console
from meterstream.settings import Settings


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


def register(commands: argparse._SubParsersAction) -> None:
    kafka = commands.add_parser("kafka", help="run the local Kafka broker (from Maven Central jars)")
    kafka.add_argument("action", choices=("start", "stop", "status"))
    kafka.set_defaults(handler=_kafka)
