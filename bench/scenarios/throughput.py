"""1. End-to-end throughput: pre-loaded usage.events -> worker -> usage.priced -> sink -> ClickHouse.

The topic is loaded first (through the emitter's producer) so that the worker, the sink
and the broker have the machine's two cores to themselves during the window; what the
emitter costs a service is scenario 3. Baseline: a bare confluent-kafka consumer reading
the same topic and doing nothing, the broker's read limit on this machine.
"""

from __future__ import annotations

import time

from bench.data import EventFactory
from bench.harness import BenchEnv, Result, cpu_seconds, wait_for
from bench.pipeline import Worker, bare_consume, preload, start_sink

TARGET_RATE = 20_000


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    topic = env.settings("tp")
    count = scale.throughput_events
    preload(topic, EventFactory(scale.sessions, prefix=topic.app_id).byte_stream(count))

    bare, metered, stored, per_core, windows = [], [], [], [], []
    for n in range(scale.runs):
        bare.append(bare_consume(env.bootstrap, topic.topic_events, count))
        settings = env.settings(f"tp{n}", topic_events=topic.topic_events)
        worker = Worker(settings)
        worker.start()
        sink, timed = start_sink(settings)
        timed.record_latency = False
        try:
            wait_for(lambda: worker.metered() > 0, 120, "the worker to meter its first event")
            t0, m0, s0, c0 = time.perf_counter(), worker.metered(), sink.runner.counts.stored, cpu_seconds(worker.pid)
            end = t0 + scale.throughput_seconds
            while time.perf_counter() < end and worker.metered() < count:
                time.sleep(0.25)
            t1, m1, s1, c1 = time.perf_counter(), worker.metered(), sink.runner.counts.stored, cpu_seconds(worker.pid)
        finally:
            sink.stop()
            worker.stop()
        if sink.error is not None:
            raise sink.error
        metered.append((m1 - m0) / (t1 - t0))
        stored.append((s1 - s0) / (t1 - t0))
        per_core.append((m1 - m0) / max(c1 - c0, 1e-9))
        windows.append(t1 - t0)

    window = f"{min(windows):.0f}-{max(windows):.0f} s window, {scale.sessions:,} sessions, all four billing units"
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
    return [e2e, worker_rate, cpu]
