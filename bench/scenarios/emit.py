"""3. Emit overhead in the calling service: the time `emit()` takes per event, broker up and down.

Each call is timed on its own (perf_counter_ns around it). `emit(UsageEvent)` is what a
service that builds the model pays; `emit(dict)` adds validation. "Broker down" points the
emitter at a loopback port where nothing listens: librdkafka queues and keeps reconnecting,
and emit() must cost the same. Baseline: a bare confluent-kafka `produce()` of the same
bytes with the same producer settings, in the same state of the broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Producer

from bench.data import EventFactory
from bench.harness import BenchEnv, Result, percentile
from meterstream.devstack import ensure_topics, free_port
from meterstream.producers import UsageEmitter
from meterstream.settings import Settings

QUIET = {"log_level": 0}  # broker-down runs would print a reconnect line every second


def timed_calls(call: Callable[[object], object], items: list) -> list[float]:
    """Microseconds of each call, with a short pause every 1,000 calls (a service's pace,
    not a tight loop that only measures how fast librdkafka's queue can be filled)."""
    samples = []
    clock = time.perf_counter_ns
    for n, item in enumerate(items):
        start = clock()
        call(item)
        samples.append((clock() - start) / 1000)
        if n % 1000 == 999:
            time.sleep(0.01)
    return samples


def measure(settings: Settings, count: int, label: str, down: bool) -> dict[str, list[float]]:
    factory = EventFactory(1000, prefix=label)
    models = [factory.next_model() for _ in range(count)]
    dicts = [model.model_dump(mode="json") for model in models]
    values = [(model.session_id.encode(), model.model_dump_json().encode()) for model in models]
    out: dict[str, list[float]] = {}
    wait = 0 if down else 30  # with the broker down nothing can be delivered: do not wait
    emitter = UsageEmitter(settings, **QUIET)
    try:
        out["model"] = timed_calls(emitter.emit, models)
        out["dict"] = timed_calls(emitter.emit, dicts)
    finally:
        emitter.close(wait)  # broker down: what is queued goes to the emitter's spool
    producer = Producer({**settings.kafka_producer_config(), **QUIET})
    topic = settings.topic_events
    out["bare"] = timed_calls(lambda kv: (producer.produce(topic, value=kv[1], key=kv[0]), producer.poll(0)), values)
    producer.flush(wait)
    return out


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    up = env.settings("emit")
    ensure_topics(up)
    down = up.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    runs: dict[tuple[str, str, int], list[float]] = {}
    for n in range(scale.runs):
        for state, settings in (("up", up), ("down", down)):
            found = measure(settings, scale.emit_events, f"{state}-{n}", down=state == "down")
            for kind, samples in found.items():
                for q in (50, 99):
                    runs.setdefault((state, kind, q), []).append(percentile(samples, q))
    results = []
    full = scale.name == "full"
    for state in ("up", "down"):
        for kind, what in (("model", "emit(UsageEvent)"), ("dict", "emit(dict), validates")):
            for q, limit in ((50, 10), (99, 100)):
                r = Result("3. Emit overhead", f"{what} p{q}, broker {state}", "µs", runs[(state, kind, q)],
                           "bare produce() of the same bytes", runs[(state, "bare", q)],
                           target=f"< {limit} µs" + (", no growth when down" if state == "down" else ""))
                if full and kind == "model":
                    r.met = r.value < limit and (state == "up" or r.value <= 1.5 * median_of(runs, "up", kind, q))
                results.append(r)
    return results


def median_of(runs: dict, state: str, kind: str, q: int) -> float:
    from bench.harness import median

    return median(runs[(state, kind, q)])


