"""7. Memory: the worker's resident memory with N distinct sessions in its table (1 million at
full scale), and recovery after a restart.

The worker starts on an empty table (baseline RSS, and the baseline start time), then meters
one event for each of N sessions. It is stopped (SIGTERM) and started again on the same data
folder; recovery is the time from spawn until an event emitted at spawn shows in its
session's live totals, which also proves the old totals were recovered (operations == 2).
Baseline for recovery: the same measure on the first, empty start.
"""

from __future__ import annotations

import http.client
import time

import orjson

from bench.data import EventFactory
from bench.harness import BenchEnv, Result, median, rss_bytes, wait_for
from bench.pipeline import Worker, preload
from meterstream.devstack import ensure_topics
from meterstream.producers import UsageEmitter
from meterstream.settings import Settings

MiB = 1024 * 1024


def operations(settings: Settings, session_id: str) -> int:
    connection = http.client.HTTPConnection(settings.worker_host, settings.worker_port, timeout=5)
    try:
        connection.request("GET", f"/sessions/{session_id}")
        response = connection.getresponse()
        body = response.read()
        return orjson.loads(body)["operations"] if response.status == 200 else 0
    except OSError:
        return 0
    finally:
        connection.close()


def start_until_serving(settings: Settings, factory: EventFactory, session_id: str, want: int) -> tuple[Worker, float]:
    """Spawn the worker, emit one event for `session_id` at once, and time until its totals
    show `want` operations."""
    worker = Worker(settings)
    started = time.perf_counter()
    worker.start(timeout=600)
    with UsageEmitter(settings) as emitter:
        emitter.emit(factory.next_model(session_id=session_id))
    wait_for(lambda: operations(settings, session_id) >= want, 600, f"{session_id} to show {want} operations", 0.02)
    return worker, time.perf_counter() - started


def sample_rss(pid: int, samples: int = 5) -> float:
    values = []
    for _ in range(samples):
        values.append(rss_bytes(pid) / MiB)
        time.sleep(0.5)
    return median(values)


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    settings = env.settings("mem")
    ensure_topics(settings)
    sessions = scale.memory_sessions
    factory = EventFactory(sessions, prefix=settings.app_id)
    probe = f"{settings.app_id}-probe"

    worker, cold = start_until_serving(settings, factory, probe, 1)
    idle_rss = sample_rss(worker.pid)
    try:
        preload(settings, factory.byte_stream(sessions))  # one event for each distinct session
        started = time.perf_counter()
        wait_for(lambda: worker.metered() >= sessions + 1, 3600, f"the worker to meter {sessions:,} sessions", 1.0)
        meter_rate = sessions / (time.perf_counter() - started)
        loaded_rss = sample_rss(worker.pid)
    finally:
        worker.stop(timeout=120)

    recoveries, restarted_rss = [], []
    for n in range(scale.runs):
        worker, took = start_until_serving(settings, factory, probe, 2 + n)
        try:
            recoveries.append(took)
            restarted_rss.append(sample_rss(worker.pid))
            sample = factory.session_ids[sessions // 2]
            if operations(settings, sample) != 1:
                raise AssertionError(f"after restart {n + 1}, {sample} lost its totals")
        finally:
            worker.stop(timeout=120)

    note = f"{sessions:,} sessions"
    return [
        Result("7. Memory", "worker RSS with N sessions in the table", "MiB", [loaded_rss], "idle worker, empty table",
               [idle_rss], note=note),
        Result("7. Memory", "worker RSS after a restart", "MiB", restarted_rss, "idle worker, empty table",
               [idle_rss], note=note),
        Result("7. Memory", "restart → serving again (totals recovered, new event applied)", "s", recoveries,
               "first start on an empty table", [cold], note=note),
        Result("7. Memory", "metering rate while loading the sessions", "events/s", [meter_rate], "",
               note="one event per new session"),
    ]
