"""8. Budgets: reservation decision latency, what budgets cost the worker, event -> alert.

Reservations. A worker with budgets on decides them; one tenant has a blocking budget
large enough never to refuse and five others (two match the planned call, three do not), so
every decision matches real scopes. Requests go out open loop: on a fixed schedule at the
offered rate, each timed from its scheduled send, so a system that falls behind shows its
queue instead of slowing the sender. Paths: `BudgetClient.ask_async` from this process
(command -> Kafka -> the worker's budget owner -> answer to the client's port), the same with
`METERSTREAM_BUDGET_REPLIES=kafka` (the answer through `usage.budget-replies`, as before the
direct answers), and `POST /v1/reservations`
through `meterstream serve --no-sink` as its own process (an embedded ClickHouse folder has
one owner, so it gets a folder of its own; nothing it serves here reads it). The HTTP load is
written by hand over kept-alive connections: httpx would spend more of the two cores in the
load generator than the API spends answering. Baselines in the same run: a bare
confluent-kafka produce -> consume of a command's bytes with the client's settings (linger 0),
and `GET /healthz` at the same load over the same connections.

This process stands in for an API process, so it runs its load as one does: on uvloop (as
uvicorn runs the API), with its startup objects frozen out of garbage collection once set up
(meterstream/runtime.py, as the API's startup does), and keeping no finished request. Before
the first timed run the broker gets 30 s of the top load untimed: a broker in service is
warm, and in its first half minute its JIT made produce round trips of up to 350 ms.

Throughput. Scenario 1's worker window (`worker_window`) on one pre-loaded topic, run with
budgets on (one notify budget per tenant, defined on the command topic before the worker
starts, so every spend is decided after it) and off, alternating which goes first. No sink
runs: budgets change nothing there, and it would share the cores with what is compared.
The budget ledger's own count (operations in the tenants' periods) is read at both ends
of the window, to show whether the budget owner keeps up with the metering.

Alerts. One tiny budget per crossing (its own tenant, a 100 % threshold below one event's
cost, a webhook to a receiver on 127.0.0.1); one event each, emitted at a steady 20/s, timed
from `emit()` to the threshold alert read by a consumer on `usage.alerts`, and to its webhook
POST arriving at the receiver, delivered by the alert channel the API runs (`AlertsThread`:
relay Kafka -> SQLite, delivery loop SQLite -> webhooks), here on threads of this process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import uvloop
from confluent_kafka import Consumer, TopicPartition

from bench.data import EventFactory
from bench.harness import BenchEnv, Result, cpu_seconds, median, percentile
from bench.http import ApiProcess, HttpPool, http_request
from bench.pipeline import Pacer, Worker, bare_latency, preload
from bench.scenarios.throughput import worker_window
from meterstream.alerts.runner import AlertsThread
from meterstream.alerts.store import AlertStore
from meterstream.api.store import ApiStore
from meterstream.budgets import commands
from meterstream.budgets.client import BudgetClient, BudgetOwnerUnavailable
from meterstream.devstack import ensure_topics, free_port
from meterstream.producers import UsageEmitter
from meterstream.runtime import freeze_startup_objects
from meterstream.schemas import UsageEvent
from meterstream.schemas.budgets import BudgetDefinition, UsageFacts
from meterstream.settings import Settings

SCENARIO = "8. Budgets"
PLAN = {"service": "text", "model": "gemini-2.5-flash", "usage": {"unit": "tokens", "input_tokens": 1_000_000}}
PLAN_COST = Decimal("0.30")  # of PLAN at list price
FACTS = UsageFacts(session_id="bench-session", user_id="bench-user", service="text", model="gemini-2.5-flash")
TTL = timedelta(minutes=15)  # the default reservation TTL; the direct path releases each hold once granted
# The HTTP path cannot release without reading each answer: its holds expire after this long instead
# (the expiry timer runs every second).
HTTP_TTL_SECONDS = 1
WARMUP = 1.0  # seconds of each open-loop run that are sent but not timed
BROKER_WARMUP = 30.0  # seconds of untimed load before the first timed run (full scale only)
CONNECTIONS = 64  # kept-alive HTTP connections opened before each run (more open on demand)
CROSSINGS_PER_SECOND = 20
ALERT_WAIT = 30.0  # seconds after the last crossing; an alert not seen by then counts at the bound
RESERVATION_TARGET_MS = 20
TARGET_RATE = 1_000
COST_TARGET = 0.15
ALERT_TARGET_MS = 1_000


def budget(tenant: str, name: str, limit: str, action: str = "notify", thresholds: tuple[int, ...] = (50, 80, 100),
           **scope: str) -> BudgetDefinition:
    now = datetime.now(UTC)
    return BudgetDefinition(
        budget_id=f"bud_{name}", tenant_id=tenant, name=name, limit=Decimal(limit), action=action,
        thresholds=tuple(Decimal(t) for t in thresholds), scope=scope or {}, created_at=now, updated_at=now,
    )


def reservation_budgets(tenant: str) -> list[BudgetDefinition]:
    """The blocking budget that never refuses, two more that match FACTS and three that do not."""
    return [
        budget(tenant, "never-refuses", "1000000000", action="block"),
        budget(tenant, "text-only", "1000000", service="text"),
        budget(tenant, "this-user", "1000000", action="block", kind="user", value=FACTS.user_id),
        budget(tenant, "other-user", "5", action="block", kind="user", value="someone-else"),
        budget(tenant, "launch-project", "5", action="block", kind="attribute", attribute="project", value="launch"),
        budget(tenant, "pro-model", "5", action="block", model="gemini-2.5-pro"),
    ]


def define_all(client: BudgetClient, definitions: list[BudgetDefinition], timeout: float = 60) -> None:
    futures = [client.submit(commands.define(definition)) for definition in definitions]
    for future in futures:
        if not future.result(timeout)["ok"]:
            raise RuntimeError("the budget owner refused a definition")


# -- open-loop load -------------------------------------------------------------------------------

async def open_loop(rate: float, seconds: float, call: Callable[[], Awaitable[bool]]) -> tuple[list[float], int]:
    """Start `call()` on a fixed schedule, `rate` per second, whether earlier calls answered or
    not. Returns the latencies (s) of the calls after the warm-up, each from its scheduled
    start, and how many of them failed (their latency is the time until they failed)."""
    warm = int(rate * WARMUP)
    total = warm + int(rate * seconds)
    latencies: list[float] = []
    failures = 0

    async def one(i: int, due: float) -> None:
        nonlocal failures
        ok = await call()
        if i >= warm:
            latencies.append(time.perf_counter() - due)
            failures += not ok

    running: set[asyncio.Task[None]] = set()  # the event loop holds tasks weakly
    start = time.perf_counter() + 0.01
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(i, due))
        running.add(task)
        task.add_done_callback(running.discard)
    while running:
        await asyncio.gather(*running)
    return latencies, failures


async def http_load(url: str, raw: bytes, expect: int, rate: float, seconds: float) -> tuple[list[float], int]:
    host, port = url.removeprefix("http://").split(":")
    pool = HttpPool(host, int(port))
    await pool.open(CONNECTIONS)

    async def call() -> bool:
        try:
            return await pool.request(raw) == expect
        except (OSError, asyncio.IncompleteReadError):
            return False

    try:
        return await open_loop(rate, seconds, call)
    finally:
        await pool.close()


def quantiles(latencies: list[float], qs: tuple[int, ...] = (50, 95, 99)) -> dict[int, float]:
    return {q: percentile(latencies, q) * 1000 for q in qs}


def reservation_latency(env: BenchEnv) -> list[Result]:
    scale = env.scale
    full = scale.name == "full"
    settings = env.settings("rsv")
    ensure_topics(settings)
    tenant, http_tenant = f"{settings.app_id}-tenant", f"{settings.app_id}-http"
    state_path = settings.data_dir / "api.sqlite3"
    key, _ = ApiStore(settings).wait_ready().create_key(http_tenant, "bench")
    sample = commands.reserve(tenant, PLAN_COST, FACTS, TTL)
    command_bytes = [orjson.dumps(sample)]
    post = http_request("POST", "/v1/reservations", key, {**PLAN, "session_id": FACTS.session_id,
                                                          "user_id": FACTS.user_id, "ttl_seconds": HTTP_TTL_SECONDS})
    health = http_request("GET", "/healthz")
    paths = ("bare", "direct", "kafka", "backlog", "healthz", "http")
    figures: dict[tuple[str, int], dict[int, list[float]]] = {
        (path, rate): {50: [], 95: [], 99: []} for path in paths for rate in scale.budget_rates}
    failed: dict[tuple[str, int], int] = {(path, rate): 0 for path in paths for rate in scale.budget_rates}
    worst: dict[tuple[str, int], float] = {(path, rate): 0.0 for path in paths for rate in scale.budget_rates}
    # CPU ms per request of the worker and of the API process, per path and rate (all runs).
    cpu: dict[tuple[str, int], dict[str, list[float]]] = {
        (path, rate): {"worker": [], "api": []} for path in paths for rate in scale.budget_rates}
    factory = EventFactory(scale.sessions, prefix=f"{settings.app_id}-backlog")
    behind: list[int] = []  # events the worker had still to meter when a backlog phase ended
    worker = Worker(settings)
    worker.start()
    api = ApiProcess(settings, state_path)
    try:
        with BudgetClient(settings) as client, \
                BudgetClient(settings.model_copy(update={"budget_replies": "kafka"})) as through_kafka:
            define_all(client, reservation_budgets(tenant) + reservation_budgets(http_tenant))
            api.wait_ready()

            def asking(client: BudgetClient) -> Callable[[], Awaitable[bool]]:
                async def ask() -> bool:
                    try:
                        reply = await client.ask_async(commands.reserve(tenant, PLAN_COST, FACTS, TTL))
                    except BudgetOwnerUnavailable:
                        return False
                    if reply.get("granted") is True:  # the call is done: its hold goes, untimed
                        client.submit(commands.release(tenant, reply["reservation_id"]))
                        return True
                    return False
                return ask

            ask = asking(client)

            def during_backlog(rate: int) -> tuple[list[float], int]:
                """Reservations while the worker catches up on a metering backlog: the budget
                owner has its own consumer, so they should not queue behind it."""
                start = worker.metered()
                preload(settings, factory.byte_stream(scale.budget_backlog_events))
                measured = uvloop.run(open_loop(rate, scale.budget_seconds, ask))
                behind.append(start + scale.budget_backlog_events - worker.metered())
                return measured

            freeze_startup_objects()
            if full:
                uvloop.run(open_loop(max(scale.budget_rates), BROKER_WARMUP, ask))
            for _ in range(scale.runs):
                for rate in scale.budget_rates:
                    phases = {
                        "bare": lambda: (bare_latency(settings, command_bytes, rate, scale.budget_seconds,
                                                      **{"linger.ms": 0}), 0),
                        "direct": lambda: uvloop.run(open_loop(rate, scale.budget_seconds, ask)),
                        "kafka": lambda: uvloop.run(open_loop(rate, scale.budget_seconds, asking(through_kafka))),
                        "backlog": lambda: during_backlog(rate),
                        "healthz": lambda: uvloop.run(http_load(api.url, health, 200, rate, scale.budget_seconds)),
                        "http": lambda: uvloop.run(http_load(api.url, post, 201, rate, scale.budget_seconds)),
                    }
                    runs = {}
                    for path, phase in phases.items():
                        before = cpu_seconds(worker.pid), cpu_seconds(api.process.pid)
                        runs[path] = phase()
                        sent = rate * (WARMUP + scale.budget_seconds)
                        cpu[(path, rate)]["worker"].append((cpu_seconds(worker.pid) - before[0]) / sent * 1000)
                        cpu[(path, rate)]["api"].append((cpu_seconds(api.process.pid) - before[1]) / sent * 1000)
                    for path, (latencies, failures) in runs.items():
                        for q, value in quantiles(latencies).items():
                            figures[(path, rate)][q].append(value)
                        failed[(path, rate)] += failures
                        worst[(path, rate)] = max(worst[(path, rate)], max(latencies, default=0) * 1000)
    finally:
        api.stop()
        worker.stop()

    results = []
    for path, what, base_path, base in (
        ("direct", "reservation, BudgetClient.ask_async → budget owner → answer to the client's port", "bare",
         "bare Kafka produce→consume, linger 0"),
        ("kafka", "reservation, answers through usage.budget-replies (METERSTREAM_BUDGET_REPLIES=kafka)", "direct",
         "answers to the client's port"),
        ("backlog", f"reservation during a {scale.budget_backlog_events:,}-event metering catch-up, ask_async", "direct",
         "ask_async, no backlog"),
        ("http", "reservation, POST /v1/reservations (API process)", "healthz", "GET /healthz, same load"),
    ):
        for rate in scale.budget_rates:
            for q in (50, 95, 99):
                # The target is the decision's, on the default path; the others are shown
                # beside it (an option, a busy worker, the API's own request handling).
                judged = q == 99 and rate == TARGET_RATE and path == "direct"
                notes = []
                if q == 50:
                    own, base_cpu = cpu[(path, rate)], cpu[(base_path, rate)]
                    notes.append(f"CPU per request: worker {median(own['worker']):.2f} ms, API {median(own['api']):.2f} ms"
                                 f"; baseline: API {median(base_cpu['api']):.2f} ms" if path == "http" else
                                 f"CPU per request: worker {median(own['worker']):.2f} ms")
                if q == 99:
                    notes.append(f"max {worst[(path, rate)]:,.0f} ms")
                    if path == "backlog" and behind:
                        notes.append(f"worker still {median(behind):,.0f} events behind at the end (median)")
                    if failed[(path, rate)]:
                        notes.append(f"{failed[(path, rate)]} not granted or unanswered")
                r = Result(SCENARIO, f"{what} p{q} @ {rate:,}/s", "ms", figures[(path, rate)][q], base,
                           figures[(base_path, rate)][q], target=f"< {RESERVATION_TARGET_MS} ms" if judged else "",
                           note=", ".join(notes))
                if judged and full:
                    r.met = r.value < RESERVATION_TARGET_MS and not failed[(path, rate)]
                results.append(r)
    return results


# -- throughput with budgets on and off -------------------------------------------------------------

def budgets_cost(env: BenchEnv) -> list[Result]:
    scale = env.scale
    full = scale.name == "full"
    topic = env.settings("bcost")
    factory = EventFactory(scale.sessions, prefix=topic.app_id, tenants=scale.budget_tenants)
    tenants = sorted(set(factory.tenant_of))
    count = scale.budget_throughput_events
    preload(topic, factory.byte_stream(count))

    def define_per_tenant(settings: Settings) -> None:
        defines = (commands.define(budget(tenant, "monthly", "1000000000")) for tenant in tenants)
        preload(settings, ((c["tenant"].encode(), orjson.dumps(c)) for c in defines), topic=settings.topic_budget_commands)

    def counted_by_budgets(worker: Worker) -> int:
        total = 0
        for tenant in tenants:
            try:
                state = orjson.loads(worker.get(f"/budgets/{tenant}"))
            except OSError:  # 404 before the definition is applied
                continue
            total += sum(period["operations"] for entry in state["budgets"].values()
                         for period in entry["periods"].values())
        return total

    rates: dict[bool, list[float]] = {True: [], False: []}
    per_cpu: dict[bool, list[float]] = {True: [], False: []}
    counted, behind, costs = [], [], []
    for n in range(scale.runs):
        windows = {}
        for enabled in ((True, False) if n % 2 == 0 else (False, True)):
            windows[enabled] = worker_window(
                env, f"bcost{n}{'on' if enabled else 'off'}", topic.topic_events, count,
                scale.budget_throughput_seconds, with_sink=False, budgets_enabled=enabled,
                prepare=define_per_tenant if enabled else None, observe=counted_by_budgets if enabled else None)
            rates[enabled].append(windows[enabled].metered)
            per_cpu[enabled].append(windows[enabled].per_cpu)
        counted.append(windows[True].observed)
        behind.append(windows[True].observed_behind)
        costs.append(100 * (1 - windows[True].metered / windows[False].metered))

    workload = f"{scale.budget_tenants} tenants, one budget each, {scale.budget_throughput_seconds:.0f} s windows, no sink"
    on = Result(SCENARIO, "worker throughput, budgets on", "events/s", rates[True], "budgets off, same topic",
                rates[False], target=f"cost < {COST_TARGET:.0%} (ratio > {1 - COST_TARGET:.2f}×)",
                note=f"{workload}; cost per run {', '.join(f'{c:.1f}' for c in costs)} %")
    if full:
        on.met = (on.ratio or 0) > 1 - COST_TARGET
    cpu = Result(SCENARIO, "worker events per CPU-second, budgets on", "events/CPU-s", per_cpu[True],
                 "budgets off", per_cpu[False])
    ledger = Result(SCENARIO, "events counted by the budget ledger, budgets on", "events/s", counted,
                    "metered in the same window", rates[True],
                    note=f"behind the metering at the window's end: {median(behind):,.0f} events (median)")
    return [on, cpu, ledger]


# -- event -> alert ----------------------------------------------------------------------------------

class AlertWatcher(threading.Thread):
    """Reads usage.alerts from its end and times each threshold alert against its event's emit."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "bench-alerts",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        topic = settings.topic_alerts
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, self.consumer.get_watermark_offsets(
            TopicPartition(topic, p), timeout=10)[1]) for p in partitions])
        self.emitted: dict[str, float] = {}
        self.latencies: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            message = self.consumer.poll(0.05)
            if message is None or message.error() is not None:
                continue
            now = time.perf_counter()
            alert = orjson.loads(message.value())
            event_id = alert["event"]["event_id"]
            sent = self.emitted.get(event_id)
            if alert["kind"] == "budget.threshold" and sent is not None and event_id not in self.latencies:
                self.latencies[event_id] = now - sent
        self.consumer.close()


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that notes when each alert's webhook arrived, by event id."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.perf_counter()
                data = orjson.loads(body)["data"]
                if data["kind"] == "budget.threshold":
                    received.setdefault(data["event"]["event_id"], now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def alert_latency(env: BenchEnv) -> list[Result]:
    scale = env.scale
    full = scale.name == "full"
    settings = env.settings("alert")
    ensure_topics(settings)
    figures: dict[str, dict[int, list[float]]] = {leg: {50: [], 95: [], 99: []} for leg in ("topic", "webhook")}
    bare: dict[int, list[float]] = {50: [], 95: [], 99: []}
    missing = {"topic": 0, "webhook": 0}
    alerts_state = settings.data_dir / "alerts.sqlite3"
    hooks = AlertStore(alerts_state)
    receiver = WebhookReceiver()
    worker = Worker(settings)
    worker.start()
    channel = AlertsThread(settings, alerts_state).start()
    try:
        with BudgetClient(settings) as client, UsageEmitter(settings) as emitter:
            for n in range(scale.runs):
                tenants = [f"{settings.app_id}-r{n}-t{k:04d}" for k in range(scale.budget_crossings)]
                # A 100 % threshold at a millionth of a dollar: the tenant's first event crosses it.
                define_all(client, [budget(tenant, "tiny", "0.000001", thresholds=(100,)) for tenant in tenants])
                for tenant in tenants:
                    hooks.create_webhook(tenant, receiver.url, "bench")
                watcher = AlertWatcher(settings)
                watcher.start()
                pacer = Pacer(CROSSINGS_PER_SECOND)
                for i, tenant in enumerate(tenants):
                    pacer.wait(i)
                    event = UsageEvent(tenant_id=tenant, session_id=f"{tenant}-s", service="text",
                                       model="gemini-2.5-flash", usage={"unit": "tokens", "input_tokens": 1000})
                    watcher.emitted[str(event.event_id)] = time.perf_counter()
                    emitter.emit(event)
                deadline = time.monotonic() + ALERT_WAIT
                while time.monotonic() < deadline and (len(watcher.latencies) < len(tenants) or any(
                        event_id not in receiver.received for event_id in watcher.emitted)):
                    time.sleep(0.05)
                watcher.stop.set()
                watcher.join(10)
                now = time.perf_counter()
                arrived = {"topic": watcher.latencies, "webhook": {
                    event_id: receiver.received[event_id] - sent for event_id, sent in watcher.emitted.items()
                    if event_id in receiver.received}}
                for leg, latencies in arrived.items():
                    late = [now - sent for event_id, sent in watcher.emitted.items() if event_id not in latencies]
                    missing[leg] += len(late)
                    for q, value in quantiles(list(latencies.values()) + late).items():
                        figures[leg][q].append(value)
                values = [orjson.dumps(event.model_dump(mode="json"))]
                for q, value in quantiles(bare_latency(settings, values, CROSSINGS_PER_SECOND,
                                                       max(scale.budget_crossings / CROSSINGS_PER_SECOND, 1))).items():
                    bare[q].append(value)
    finally:
        channel.stop()
        worker.stop()
        receiver.close()
    if channel.error is not None:
        raise channel.error
    results = []
    for leg, what in (("topic", "event → alert on usage.alerts"), ("webhook", "event → webhook received")):
        for q in (50, 95, 99):
            note = f"{scale.budget_crossings} crossings per run at {CROSSINGS_PER_SECOND}/s"
            if missing[leg]:
                note += f"; {missing[leg]} not seen within {ALERT_WAIT:.0f} s, counted at that bound"
            judged = q == 99 and leg == "webhook"
            r = Result(SCENARIO, f"{what} p{q}", "ms", figures[leg][q], f"bare produce→consume @ {CROSSINGS_PER_SECOND}/s",
                       bare[q], target=f"< {ALERT_TARGET_MS:,} ms" if judged else "", note=note if q == 99 else "")
            if judged and full:
                r.met = r.value < ALERT_TARGET_MS and not missing[leg]
            results.append(r)
    return results


def run(env: BenchEnv) -> list[Result]:
    return [*reservation_latency(env), *budgets_cost(env), *alert_latency(env)]
