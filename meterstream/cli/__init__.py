"""The `meterstream` command: one module per command group, each adding its parsers."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from meterstream.cli import (
    alerts,
    budgets,
    insights,
    kafka,
    keys,
    pipeline,
    pricing,
    reports,
    statements,
    topics,
    usage,
    webhooks,
)
from meterstream.cli.common import Handler, console
from meterstream.errors import MeterstreamError
from meterstream.settings import get_settings

GROUPS = (kafka, topics, pipeline, usage, reports, keys, alerts, webhooks, pricing, budgets, statements, insights)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meterstream", description="Real-time metering of generative-AI usage and cost.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C must stop every command cleanly, even when started from a context that ignores
    # SIGINT (a background job of a non-interactive shell, some CI runners): Python would
    # then never raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        sys.exit(handler(args, get_settings()))
    except MeterstreamError as error:
        console.print(f"[red]error:[/] {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
