"""`meterstream topics create|scale`: the pipeline's topics, and raising their partition count."""

from __future__ import annotations

import argparse

from meterstream.cli.common import console
from meterstream.settings import Settings


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.devstack.topics import ensure_topics, scale_topics

    if args.verb == "create":
        ensure_topics(settings)
        console.print(f"topics ready on {settings.kafka_bootstrap}")
        return 0
    try:
        changes = scale_topics(settings, args.partitions)
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    for name, (before, after) in changes.items():
        console.print(f"{name}: {before} -> {after} partitions" if after > before else f"{name}: {after} partitions")
    console.print("The router picks up new partitions of the events topic within seconds; nothing needs a restart. "
                  f"The internal topics keep {settings.topic_partitions} partitions: at most that many workers.")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    topics = commands.add_parser("topics", help="create the pipeline's topics, or raise their partition count")
    verbs = topics.add_subparsers(dest="verb", required=True)
    verbs.add_parser("create", help="create the missing topics (every command that needs them does this too)")
    scale = verbs.add_parser("scale", help="raise the partitions of the events, priced and dead-letter topics, "
                                           "while the pipeline runs")
    scale.add_argument("--partitions", type=int, required=True)
    topics.set_defaults(handler=_topics)
