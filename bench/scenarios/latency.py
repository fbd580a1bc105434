"""2. Latency at a fixed offered load: emitted -> visible in the live session totals, and
-> queryable in ClickHouse.

The bench process emits through UsageEmitter at the offered rate. A few probe sessions get
an event every 20 ms; a poller reads their totals from the worker's HTTP view over one
kept-alive connection, and `operations` tells which probes are applied. ClickHouse
latency is taken for every event: the sink wrapper notes when each insert returned,
against the event's occurred_at (stamped at emit). Baseline: a bare confluent-kafka
producer -> consumer round trip at the same rate and message size, the broker's share.
"""

from __future__ import annotations

import http.client
import threading
import time
from datetime import UTC, datetime

import orjson

from bench.data import EventFactory
from bench.harness import BenchEnv, Result, percentile, wait_for
from bench.pipeline import Pacer, TimedSink, Worker, bare_latency, start_sink
from meterstream.devstack import ensure_topics
from meterstream.producers import UsageEmitter
from meterstream.settings import Settings

PROBES = 4
PROBE_INTERVAL = 0.02
WARMUP = 1.0


class ProbePoller(threading.Thread):
    """Polls the probe sessions' live totals and times each probe's first appearance."""

    def __init__(self, settings: Settings, sessions: list[str]) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.sessions = sessions
        self.emitted: dict[tuple[int, int], float] = {}
        self.applied = [0] * len(sessions)
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.settings.worker_host, self.settings.worker_port, timeout=10)
        while not self.stop.is_set():
            for k, session in enumerate(self.sessions):
                connection.request("GET", f"/sessions/{session}")
                response = connection.getresponse()
                body = response.read()
                now = time.perf_counter()
                if response.status != 200:
                    continue
                operations = orjson.loads(body)["operations"]
                for seq in range(self.applied[k] + 1, operations + 1):
                    sent = self.emitted.get((k, seq))
                    if sent is not None:
                        self.latencies.append(now - sent)
                self.applied[k] = max(self.applied[k], operations)
            time.sleep(0.001)
        connection.close()


def one_run(settings: Settings, worker: Worker, timed: TimedSink, sink, rate: int, seconds: float,
            label: str, sessions: int) -> tuple[list[float], list[float]]:
    factory = EventFactory(sessions, prefix=label)
    probe_sessions = [f"{label}-probe{k}" for k in range(PROBES)]
    poller = ProbePoller(settings, probe_sessions)
    stored_before = sink.runner.counts.stored
    timed.visible_after.clear()
    timed.record_latency = True
    total = int(rate * (seconds + WARMUP))
    probe_every = max(1, round(rate * PROBE_INTERVAL))
    sequence = [0] * PROBES
    measure_from = None
    poller.start()
    with UsageEmitter(settings) as emitter:
        pacer = Pacer(rate)
        for i in range(total):
            pacer.wait(i)
            if measure_from is None and i >= rate * WARMUP:
                measure_from = datetime.now(UTC).timestamp()
            if i % probe_every == 0:
                k = (i // probe_every) % PROBES
                sequence[k] += 1
                event = factory.next_model(session_id=probe_sessions[k])
                if measure_from is not None:  # warm-up probes are applied but not timed
                    poller.emitted[(k, sequence[k])] = time.perf_counter()
                emitter.emit(event)
            else:
                emitter.emit(factory.next_model())
        emitter.flush()
    try:
        wait_for(lambda: len(poller.latencies) >= len(poller.emitted), 60, "every probe to show in the totals")
        wait_for(lambda: sink.runner.counts.stored - stored_before >= total, 120, "every event to reach ClickHouse")
    finally:
        poller.stop.set()
        poller.join(10)
    timed.record_latency = False
    # ClickHouse: only events emitted after the warm-up (occurred_at is the emit time).
    stored = [lat for at, lat in timed.visible_after if at >= measure_from]
    return poller.latencies, stored


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    settings = env.settings("lat")
    ensure_topics(settings)
    worker = Worker(settings)
    worker.start()
    sink, timed = start_sink(settings)
    results: list[Result] = []
    try:
        for rate in scale.latency_rates:
            live: dict[int, list[float]] = {50: [], 95: [], 99: []}
            stored: dict[int, list[float]] = {50: [], 99: []}
            bare: dict[int, list[float]] = {50: [], 95: [], 99: []}
            values = [value for _, value in EventFactory(100, prefix="bare").byte_stream(1000)]
            for n in range(scale.runs):
                live_run, stored_run = one_run(settings, worker, timed, sink, rate, scale.latency_seconds,
                                               f"{settings.app_id}-r{rate}-{n}", scale.sessions)
                bare_run = bare_latency(settings, values, rate, min(scale.latency_seconds, 10))
                for q in live:
                    live[q].append(percentile(live_run, q) * 1000)
                    bare[q].append(percentile(bare_run, q) * 1000)
                for q in stored:
                    stored[q].append(percentile(stored_run, q) * 1000)
            base = "bare produce→consume"
            full = scale.name == "full"
            for q in (50, 95, 99):
                target = "< 250 ms" if (q == 99 and rate == 5_000) else ""
                r = Result("2. Latency", f"emit → live totals p{q} @ {rate:,}/s", "ms", live[q], base, bare[q],
                           target=target)
                if target and full:
                    r.met = r.value < 250
                results.append(r)
            for q in (50, 99):
                target = "< 3 s" if q == 99 else ""
                r = Result("2. Latency", f"emit → queryable in ClickHouse p{q} @ {rate:,}/s", "ms", stored[q],
                           base, bare[99 if q == 99 else 50], target=target)
                if target and full:
                    r.met = r.value < 3000
                results.append(r)
    finally:
        sink.stop()
        worker.stop()
    return results
