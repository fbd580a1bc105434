"""2. Latency at a fixed offered load: emitted -> visible in the live session totals, and
-> queryable in ClickHouse.

The bench process emits through UsageEmitter at the offered rate. A few probe sessions get
an event every 20 ms; a poller reads their totals from the worker's HTTP view over one
kept-alive connection, one request every 10 ms (the worker answers on the event loop that
meters, so harder polling would slow what is measured; the resolution is ~20 ms), and
`operations` tells which probes are applied. ClickHouse
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
from bench.harness import BenchEnv, Result, percentile
from bench.pipeline import Pacer, TimedSink, Worker, bare_latency, start_sink
from meterstream.devstack import ensure_topics
from meterstream.producers import UsageEmitter
from meterstream.settings import Settings

PROBES = 2
PROBE_INTERVAL = 0.02
POLL_INTERVAL = 0.01  # 100 requests/s in all; each probe session is read every 20 ms
WARMUP = 1.0
DRAIN_LIMIT = 30.0  # seconds after the last emit; past it the worker is below the offered load


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
                # One request every POLL_INTERVAL: the worker serves these on the event loop
                # that meters, so polling harder would slow what it measures.
                time.sleep(POLL_INTERVAL)
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
        connection.close()


def one_run(settings: Settings, worker: Worker, timed: TimedSink, sink, rate: int, seconds: float,
            label: str, sessions: int) -> tuple[list[float], list[float], bool]:
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
    # A worker slower than the offered load never catches up: wait a bounded time, then count
    # every probe not yet visible at that bound (a censored sample: the true value is larger).
    deadline = time.monotonic() + DRAIN_LIMIT
    while time.monotonic() < deadline and (len(poller.latencies) < len(poller.emitted)
                                           or sink.runner.counts.stored - stored_before < total):
        time.sleep(0.1)
    poller.stop.set()
    poller.join(10)
    timed.record_latency = False
    now = time.perf_counter()
    live = poller.latencies + [now - sent for sent in list(poller.emitted.values())[len(poller.latencies):]]
    # ClickHouse: only events emitted after the warm-up (occurred_at is the emit time); the
    # events not stored by the bound count at the bound, as above.
    stored = [lat for at, lat in timed.visible_after if at >= measure_from]
    missing = total - int(rate * WARMUP) - len(stored)
    stored += [time.time() - measure_from] * max(0, missing)
    backlog = len(poller.latencies) < len(poller.emitted)
    return live, stored, backlog


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    results: list[Result] = []
    values = [value for _, value in EventFactory(100, prefix="bare").byte_stream(1000)]
    full = scale.name == "full"
    for rate in scale.latency_rates:
        # A pipeline per rate: a backlog left by a rate the worker cannot carry stays there.
        settings = env.settings(f"lat{rate}")
        ensure_topics(settings)
        worker = Worker(settings)
        worker.start()
        sink, timed = start_sink(settings)
        live: dict[int, list[float]] = {50: [], 95: [], 99: []}
        stored: dict[int, list[float]] = {50: [], 99: []}
        bare: dict[int, list[float]] = {50: [], 95: [], 99: []}
        saturated = False
        try:
            for n in range(scale.runs):
                live_run, stored_run, backlog = one_run(settings, worker, timed, sink, rate, scale.latency_seconds,
                                                        f"{settings.app_id}-{n}", scale.sessions)
                saturated = saturated or backlog
                bare_run = bare_latency(settings, values, rate, min(scale.latency_seconds, 10))
                for q in live:
                    live[q].append(percentile(live_run, q) * 1000)
                    bare[q].append(percentile(bare_run, q) * 1000)
                for q in stored:
                    stored[q].append(percentile(stored_run, q) * 1000)
        finally:
            sink.stop()
            worker.stop()
        base = "bare produce→consume"
        note = f"worker below the offered load: backlog, censored at {DRAIN_LIMIT:.0f} s" if saturated else ""
        for q in (50, 95, 99):
            target = "< 250 ms" if (q == 99 and rate == 5_000) else ""
            r = Result("2. Latency", f"emit → live totals p{q} @ {rate:,}/s", "ms", live[q], base, bare[q],
                       target=target, note=note)
            if target and full:
                r.met = r.value < 250 and not saturated
            results.append(r)
        for q in (50, 99):
            target = "< 3 s" if q == 99 else ""
            r = Result("2. Latency", f"emit → queryable in ClickHouse p{q} @ {rate:,}/s", "ms", stored[q],
                       base, bare[q], target=target, note=note)
            if target and full:
                r.met = r.value < 3000 and not saturated
            results.append(r)
    return results
