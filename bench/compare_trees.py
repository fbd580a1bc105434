"""Worker catch-up, one code tree against another, on the same pre-loaded topics.

    python -m bench.compare_trees --tree before=/path/a --tree after=/path/b [--events N] [--rounds R]

Loads N events (10,000 sessions) twice, as single-event messages and in envelopes of 100,
then runs a fresh worker of each tree in turn, round by round, on each topic, and reports
its catch-up rate, from its first metered event to its last, and events per CPU-second of
the worker process. `--budgets` adds a run of each tree with budgets on (single events).
A tree is a checkout of this repository (e.g. `git worktree add --detach /tmp/before REV`);
its worker is started from there, everything else (broker, loader) from this one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import orjson

from bench.data import EventFactory
from bench.harness import SMOKE, BenchEnv, cpu_seconds, wait_for
from bench.pipeline import Worker, preload

ENVELOPE_EVENTS = 100


def _envelopes(factory: EventFactory, count: int):
    for _ in range(count // ENVELOPE_EVENTS):
        events = [factory.next_dict() for _ in range(ENVELOPE_EVENTS)]
        yield events[0]["session_id"].encode(), orjson.dumps({"meterstream_batch": 1, "events": events})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare_trees", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", required=True, metavar="LABEL=PATH")
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--budgets", action="store_true")
    args = parser.parse_args()
    trees = [tuple(item.split("=", 1)) for item in args.tree]
    runs = [(label, path, form, False) for form in ("single", "envelope") for label, path in trees]
    if args.budgets:
        runs += [(f"{label}+budgets", path, "single", True) for label, path in trees]
    here = os.getcwd()
    with BenchEnv.local(dataclasses.replace(SMOKE, sessions=10_000), None) as env:
        topics = {}
        for form in ("single", "envelope"):
            settings = env.settings(f"cmp{form}")
            factory = EventFactory(10_000, prefix=settings.app_id)
            preload(settings, factory.byte_stream(args.events) if form == "single" else _envelopes(factory, args.events))
            topics[form] = settings
        for round_ in range(args.rounds):
            for n, (label, path, form, budgets) in enumerate(runs):
                os.chdir(path)  # `python -m meterstream worker` runs the tree's code
                try:
                    settings = env.settings(f"cmp{round_}w{n}", topic_events=topics[form].topic_events,
                                            budgets_enabled=budgets)
                    worker = Worker(settings)
                    worker.start()
                finally:
                    os.chdir(here)
                try:
                    wait_for(lambda: worker.metered() > 0, 120, "the first metered event")
                    t0, m0, c0 = time.perf_counter(), worker.metered(), cpu_seconds(worker.pid)
                    wait_for(lambda: worker.metered() >= args.events, 900, "every event metered", interval=0.2)
                    seconds, cpu = time.perf_counter() - t0, cpu_seconds(worker.pid) - c0
                    done = args.events - m0
                    print(f"round {round_} {form:8} {label:16} {done / seconds:8,.0f} events/s "
                          f"{done / cpu:8,.0f} events/CPU-s  load {os.getloadavg()[0]:.1f}", flush=True)
                finally:
                    worker.stop()


if __name__ == "__main__":
    main()
