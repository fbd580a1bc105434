"""1. End-to-end throughput: pre-loaded usage.events -> worker -> usage.priced -> sink -> ClickHouse.

The topic is loaded first (through the emitter's producer) so that the worker, the sink
and the broker have the machine's two cores to themselves during the window; what the
emitter costs a service is scenario 3. Baseline: a bare confluent-kafka consumer reading
the same topic and doing nothing, the broker's read limit on this machine. Beside it, the
Faust floor (bench/faust_floor.py): an agent with the worker's settings doing only the
framework's share of the worker's work, which bounds what any Faust worker reaches here.
And the in-process limit (bench/in_process.py): the worker's metering code on the same
messages in a plain loop, what the worker would reach if Kafka and Faust cost nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.data import EventFactory
from bench.faust_floor import MODES
from bench.harness import BenchEnv, Result, cpu_seconds, median, wait_for
from bench.in_process import in_process_rate
from bench.pipeline import Worker, bare_consume, faust_floor, preload, start_sink
from meterstream.settings import Settings

TARGET_RATE = 20_000
IN_PROCESS_TARGET = 40_000  # events per CPU-second, and the worker at half of it
IN_PROCESS_EVENTS = 200_000  # enough for a steady rate; the loop keeps every message in memory


@dataclass
class Window:
    """One worker's sustained window on a pre-loaded topic: rates over the same interval."""

    seconds: float
    metered: float  # events/s through the worker (its durable ledger)
    stored: float | None  # rows/s into ClickHouse (None: no sink ran)
    per_cpu: float  # events per CPU-second of the worker process
    observed: float | None = None  # rate of what `observe` counts, over the same interval
    observed_behind: float | None = None  # metered minus observed at the window's end


def worker_window(env: BenchEnv, label: str, topic_events: str, count: int, seconds: float, *,
                  with_sink: bool = True, prepare: Callable[[Settings], None] | None = None,
                  observe: Callable[[Worker], int] | None = None, **overrides: object) -> Window:
    """A fresh worker (its own group, tables and changelogs) catching up on `topic_events`,
    timed from its first metered event for `seconds` or until it has metered `count`.
    `prepare` runs before the worker starts; `observe` (a count the worker exposes) is read at
    both ends of the window; `overrides` are Settings fields (e.g. budgets_enabled)."""
    settings = env.settings(label, topic_events=topic_events, **overrides)
    if prepare is not None:
        prepare(settings)
    worker = Worker(settings)
    worker.start()
    sink, timed = start_sink(settings) if with_sink else (None, None)
    if timed is not None:
        timed.record_latency = False
    stored_count = (lambda: sink.runner.counts.stored) if sink is not None else (lambda: 0)
    try:
        wait_for(lambda: worker.metered() > 0, 120, "the worker to meter its first event")
        t0, m0, s0, c0 = time.perf_counter(), worker.metered(), stored_count(), cpu_seconds(worker.pid)
        o0 = observe(worker) if observe is not None else 0
        end = t0 + seconds
        while time.perf_counter() < end and worker.metered() < count:
            time.sleep(0.25)
        t1, m1, s1, c1 = time.perf_counter(), worker.metered(), stored_count(), cpu_seconds(worker.pid)
        o1 = observe(worker) if observe is not None else 0
    finally:
        if sink is not None:
            sink.stop()
        worker.stop()
    if sink is not None and sink.error is not None:
        raise sink.error
    span = t1 - t0
    return Window(span, (m1 - m0) / span, (s1 - s0) / span if sink is not None else None,
                  (m1 - m0) / max(c1 - c0, 1e-9), (o1 - o0) / span if observe is not None else None,
                  m1 - o1 if observe is not None else None)


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    topic = env.settings("tp")
    count = scale.throughput_events
    preload(topic, EventFactory(scale.sessions, prefix=topic.app_id).byte_stream(count))

    in_process_values = [value for _, value in EventFactory(scale.sessions, prefix=topic.app_id)
                         .byte_stream(min(count, IN_PROCESS_EVENTS))]
    bare, metered, stored, per_core, windows, in_process = [], [], [], [], [], []
    floors: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for n in range(scale.runs):
        bare.append(bare_consume(env.bootstrap, topic.topic_events, count))
        in_process.append(in_process_rate(topic, in_process_values))
        for mode in (MODES if scale.floor_seconds > 0 else ()):  # floor_seconds=0: no floors
            floor_settings = env.settings(f"floor{n}{mode}", topic_events=topic.topic_events)
            floors[mode].append(faust_floor(floor_settings, mode, count, scale.floor_seconds))
        window = worker_window(env, f"tp{n}", topic.topic_events, count, scale.throughput_seconds)
        metered.append(window.metered)
        stored.append(window.stored)
        per_core.append(window.per_cpu)
        windows.append(window.seconds)

    span = f"{min(windows):.0f}" if round(min(windows)) == round(max(windows)) else f"{min(windows):.0f}-{max(windows):.0f}"
    window = f"{span} s window, {scale.sessions:,} sessions, all four billing units"
    e2e = Result(
        "1. Throughput", "end to end: stored in ClickHouse", "events/s", stored,
        "bare confluent-kafka consumer, same topic", bare,
        target=f"≥ {TARGET_RATE:,}/s and ≥ 0.5× baseline", note=window,
    )
    worker_rate = Result(
        "1. Throughput", "worker: priced + totals + usage.priced", "events/s", metered,
        "bare confluent-kafka consumer, same topic", bare, target=f"≥ {TARGET_RATE:,}/s and ≥ 0.5× baseline",
    )
    for result in (e2e, worker_rate):
        result.met = result.value >= TARGET_RATE and (result.ratio or 0) >= 0.5 if scale.name == "full" else None
    cpu = Result("1. Throughput", "worker events per CPU-second", "events/CPU-s", per_core, "", note="worker process only")
    limit = Result(
        "1. Throughput", "worker vs the in-process limit (its metering code in a plain loop, dicts as tables)",
        "events/s", metered, "in-process limit, events per CPU-second", in_process,
        target=f"limit ≥ {IN_PROCESS_TARGET:,}/CPU-s, worker ≥ 0.5× it",
    )
    if scale.name == "full":
        limit.met = (limit.baseline_value or 0) >= IN_PROCESS_TARGET and (limit.ratio or 0) >= 0.5
    floor_lines = [
        Result("1. Throughput", f"Faust floor, same settings: {what}", "events/s", [f["rate"] for f in floors[mode]],
               "bare confluent-kafka consumer, same topic", bare,
               note=f"{median([f['cpu'] for f in floors[mode]]):,.0f} events/CPU-s")
        for mode, what in (("consume", "iterate + ack only"), ("forward", "+ 1 send per event"),
                           ("tables", "+ 1 send + 3 table writes per event")) if floors[mode]
    ]
    return [e2e, worker_rate, cpu, limit, *floor_lines]
