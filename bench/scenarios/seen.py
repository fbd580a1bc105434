"""12. The de-duplication store: what the worker keeps of N events' ids (1 million at full
scale) with a short de-duplication window, against the default 7 days that the run never
reaches (today's unbounded store).

Each run pre-loads N events with distinct ids on topics of its own, starts a worker (budgets
off), and waits until it has metered them all; then its resident memory is sampled (caught
up, idle), it is stopped (SIGTERM), and the `seen-events` store is measured on disk (every
RocksDB file) and counted (the ids it holds), and the changelog's records are counted (values
and tombstones). The short window keeps about (metering rate × window) ids; compaction and
the broker's retention run on their own schedules, so the changelog's count is a snapshot.
The metering rate of both runs shows what the expiry costs.

Ids expire with the batches of their partition, so only a run that lasts several windows
and many batches shows the bound: at smoke scale the catch-up is a batch or two per
partition and both runs keep every id (the smoke run checks that the scenario works).
"""

from __future__ import annotations

import time

from bench.data import EventFactory
from bench.harness import BenchEnv, Result, wait_for
from bench.pipeline import Worker, preload
from bench.scenarios.memory import MiB, sample_rss
from meterstream.devstack import ensure_topics
from meterstream.devstack.worker_store import stored_bytes, stored_keys
from meterstream.reconcile import read_topic
from meterstream.settings import Settings
from meterstream.stream.topics import changelog_topic

SCENARIO = "12. De-duplication store"


def changelog_records(settings: Settings) -> tuple[int, int]:
    """(values, tombstones) on the seen-events changelog now."""
    values = tombstones = 0
    for message in read_topic(settings, changelog_topic(settings, "seen-events"), f"{settings.app_id}-bench-reader"):
        if message.value() is None:
            tombstones += 1
        else:
            values += 1
    return values, tombstones


def metered(worker: Worker) -> int:
    """What the worker has metered; 0 while a long batch keeps it from answering (a loaded machine)."""
    try:
        return worker.metered()
    except (TimeoutError, OSError):
        return 0


def measure(env: BenchEnv, window_days: float) -> dict[str, float]:
    events = env.scale.seen_events
    settings = env.settings("seen", dedup_window_days=window_days, budgets_enabled=False)
    ensure_topics(settings)
    preload(settings, EventFactory(env.scale.sessions, prefix=settings.app_id).byte_stream(events))
    worker = Worker(settings)
    worker.start(timeout=600)
    try:
        started = time.perf_counter()
        wait_for(lambda: metered(worker) >= events, 7200, f"the worker to meter {events:,} events", 1.0)
        rate = events / (time.perf_counter() - started)
        rss = sample_rss(worker.pid)
    finally:
        worker.stop(timeout=120)
    values, tombstones = changelog_records(settings)
    return {"rss": rss, "disk": stored_bytes(settings.data_dir, "seen-events") / MiB,
            "ids": len(stored_keys(settings.data_dir, "seen-events")), "rate": rate,
            "values": values, "tombstones": tombstones}


def run(env: BenchEnv) -> list[Result]:
    window = env.scale.seen_window_seconds
    unbounded = measure(env, 7)  # first: on a fresh broker the first run was slower even with nothing to expire
    bounded = measure(env, window / 86_400)
    note = f"{env.scale.seen_events:,} events, window {window:g} s vs 7 days"
    baseline = "7-day window (unbounded here)"
    return [
        Result(SCENARIO, "seen store on disk after the run", "MiB", [bounded["disk"]], baseline, [unbounded["disk"]],
               note=f"{note}; ids held {bounded['ids']:,} vs {unbounded['ids']:,}"),
        Result(SCENARIO, "worker RSS after the run (caught up)", "MiB", [bounded["rss"]], baseline,
               [unbounded["rss"]], note=note),
        Result(SCENARIO, "seen-events changelog after the run: records (values + tombstones)", "records",
               [bounded["values"] + bounded["tombstones"]], baseline, [unbounded["values"] + unbounded["tombstones"]],
               note=f"{note}; tombstones {bounded['tombstones']:,} vs {unbounded['tombstones']:,}"),
        Result(SCENARIO, "metering rate (catch-up from a pre-loaded topic)", "events/s", [bounded["rate"]], baseline,
               [unbounded["rate"]], note=note),
    ]
