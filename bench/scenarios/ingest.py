"""11. HTTP ingest: `POST /v1/usage` and `POST /v1/usage/batch` through the API process.

Broker, worker and `meterstream serve --no-sink` (bench.http.ApiProcess) run as processes on
this machine, the load generator beside them in this one. Closed loop: each client sends its
next request as soon as its last one answered, over its own kept-alive connection.

- `POST /v1/usage` at 16 clients: requests/s, p50 and p99 from each request's send to its 202,
  which the API gives only once Kafka acknowledged the event;
- `POST /v1/usage/batch` with 100 events per request at 4 clients: events/s;
- the same at 16 clients over 100 sessions that earlier phases have started (their warm-up
  does), so each event is admitted by the session's catch-up (one ListOffsets round trip)
  rather than a claim written and read back;
- baseline in the same run, same clients and connections: `GET /healthz`, the app's route that
  does nothing (no key, no body), i.e. the framework's own limit here.

Events are the studio workload's mix over `sessions` sessions of one tenant (the key's), made
before the clock starts; a run that sends more requests than were made sends them again, which
the API answers like the first time (a re-send of the same event is harmless) and the worker
drops as a re-send. CPU per request is the API process's user + system time over a phase
(warm-up included) divided by the requests it answered in it.
"""

from __future__ import annotations

import asyncio

from bench.data import EventFactory
from bench.harness import BenchEnv, Result, cpu_seconds, median, percentile
from bench.http import ApiProcess, closed_loop, http_request
from bench.pipeline import Worker
from meterstream.api.store import ApiStore
from meterstream.devstack import ensure_topics

SCENARIO = "11. HTTP ingest"
CLIENTS = 16
BATCH_CLIENTS = 4
BATCH_SIZE = 100
SINGLE_TARGET = 2_000  # requests/s, with p99 under P99_TARGET_MS
P99_TARGET_MS = 50
BATCH_TARGET = 30_000  # events/s
MADE_AHEAD = 1.5  # requests made per second of a phase, as a multiple of its target
KNOWN_SESSIONS = 100


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    seconds = scale.ingest_seconds
    settings = env.settings("ingest")
    ensure_topics(settings)
    tenant = f"{settings.app_id}-tenant"
    key, _ = ApiStore(settings).wait_ready().create_key(tenant, "bench")
    factory = EventFactory(scale.sessions, prefix=settings.app_id)
    few = EventFactory(KNOWN_SESSIONS, prefix=f"{settings.app_id}-known")

    def event(source: EventFactory = factory) -> dict:
        item = source.next_dict()
        del item["tenant_id"]  # the key's
        item.pop("api_key_id", None)
        return item

    count = int(SINGLE_TARGET * MADE_AHEAD * (seconds + 1))
    singles = [http_request("POST", "/v1/usage", key, event()) for _ in range(count)]
    known = [http_request("POST", "/v1/usage", key, event(few)) for _ in range(count)]
    batches = [http_request("POST", "/v1/usage/batch", key, {"events": [event() for _ in range(BATCH_SIZE)]})
               for _ in range(min(2_000, int(BATCH_TARGET * MADE_AHEAD * (seconds + 1) / BATCH_SIZE)))]
    health = [http_request("GET", "/healthz")]
    phases = {  # name: (requests, expected status, clients)
        "healthz": (health, 200, CLIENTS),
        "single": (singles, 202, CLIENTS),
        "known": (known, 202, CLIENTS),
        "batch": (batches, 200, BATCH_CLIENTS),
    }
    rates: dict[str, list[float]] = {name: [] for name in phases}
    p50: dict[str, list[float]] = {name: [] for name in phases}
    p99: dict[str, list[float]] = {name: [] for name in phases}
    cpu_ms: dict[str, list[float]] = {name: [] for name in phases}
    failed = {name: 0 for name in phases}
    worker = Worker(settings)
    worker.start()
    api = ApiProcess(settings, settings.data_dir / "api.sqlite3")
    try:
        api.wait_ready()
        for _ in range(scale.runs):
            for name, (requests, status, clients) in phases.items():
                before = cpu_seconds(api.process.pid)
                latencies, failures, sent = asyncio.run(closed_loop(api.url, requests, status, clients, seconds))
                cpu_ms[name].append((cpu_seconds(api.process.pid) - before) / sent * 1000)
                rates[name].append(len(latencies) / seconds)
                p50[name].append(percentile(latencies, 50) * 1000)
                p99[name].append(percentile(latencies, 99) * 1000)
                failed[name] += failures
    finally:
        api.stop()
        worker.stop()
    for name, count in failed.items():
        if count:
            raise RuntimeError(f"{SCENARIO}: {count} {name} requests did not answer as expected; see {api.log_path}")

    full = scale.name == "full"
    base = f"GET /healthz, {CLIENTS} clients"

    def cpu_note(name: str) -> str:
        return (f"API CPU {median(cpu_ms[name]):.2f} ms per request (/healthz {median(cpu_ms['healthz']):.2f} ms); "
                f"p50 {median(p50[name]):.1f} ms")

    single = Result(SCENARIO, f"POST /v1/usage, {CLIENTS} clients, closed loop", "requests/s", rates["single"],
                    base, rates["healthz"], target=f"≥ {SINGLE_TARGET:,}/s", note=cpu_note("single"))
    tail = Result(SCENARIO, f"POST /v1/usage p99, {CLIENTS} clients", "ms", p99["single"], base, p99["healthz"],
                  target=f"< {P99_TARGET_MS} ms")
    started = Result(SCENARIO, f"POST /v1/usage, {CLIENTS} clients, {KNOWN_SESSIONS} sessions already started",
                     "requests/s", rates["known"], base, rates["healthz"],
                     note=cpu_note("known") + f", p99 {median(p99['known']):.1f} ms")
    events = [rate * BATCH_SIZE for rate in rates["batch"]]
    batch = Result(SCENARIO, f"POST /v1/usage/batch, {BATCH_SIZE} events per request, {BATCH_CLIENTS} clients",
                   "events/s", events, "— (GET /healthz: the first row's baseline)", target=f"≥ {BATCH_TARGET:,}/s",
                   note=cpu_note("batch") + " per request of 100 events")
    if full:
        single.met = single.value >= SINGLE_TARGET
        tail.met = tail.value < P99_TARGET_MS
        batch.met = batch.value >= BATCH_TARGET
    return [single, tail, started, batch]
