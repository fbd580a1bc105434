"""Evaluating the stream's anomaly detector on a synthetic month: precision and recall per hour.

    python -m meterstream.insights.evaluate [--seed 7] [--seeds N] [--noise 0.15] [--json]

The month (30 days of November 2026, one tenant): 8 users spending on 11 (user, model) series,
with a daily cycle (the afternoon peak about 2.5 times the night), weekends at 60 %,
±15 % noise per series and hour, and 1 to 4 events per series and hour. Injected on top, at
random non-overlapping times (seeded): 9 spikes (1–2 hours, one series spending 2 to 5 times
the tenant's usual hour, one of them on the first day), 3 ramps (6 hours rising to 3 times),
a new expensive model (a user starting gemini-2.5-pro, 5 hours at 2 times) and 2 bursts (a
tenant-hour's worth spent in 5 minutes, 1.5 times).

Every spend item goes through the real BudgetLedger (an in-memory table), as the budget
owner applies them, so the evaluation runs the code the worker runs.

Truth, per hour: anomalous when the injected spend is at least 1.5 times the tenant's usual
spend for that hour (noise-free). Hours with some injected spend below that (the start of a
ramp) count neither way. Predicted: every hour in which an anomaly alert (hourly, per
series, or burst) has its window. Precision = true predicted hours / predicted hours;
recall = true predicted hours / true hours.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meterstream.budgets import commands
from meterstream.budgets.ledger import BudgetLedger, tenant_key

TENANT = "eval"
START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 30 * 24
TRUTH_SHARE = 1.5
SERIES = [  # (user, model, service, usual spend per peak hour in USD)
    ("ana", "gemini-2.5-flash", "text", 0.8), ("ana", "imagen-4.0-generate", "image", 0.5),
    ("ben", "gemini-2.5-flash", "text", 0.6), ("chen", "veo-3.0-fast-generate", "video", 1.2),
    ("dara", "gemini-2.5-flash-lite", "text", 0.2), ("dara", "gemini-2.5-flash", "text", 0.4),
    ("eli", "imagen-4.0-fast-generate", "image", 0.3), ("fay", "gemini-2.5-flash", "text", 0.7),
    ("gus", "cloud-tts-neural2", "speech", 0.25), ("hana", "gemini-2.5-flash", "text", 0.5),
    ("hana", "imagen-4.0-generate", "image", 0.35),
]
Q = Decimal("0.000000000001")


def usual(hour: int) -> float:
    """The tenant's noise-free spend factor for an hour: daily cycle × weekday."""
    at = START + timedelta(hours=hour)
    cycle = 0.4 + 0.6 * max(0.0, math.sin(math.pi * ((at.hour - 6) % 24) / 16)) if 6 <= at.hour < 22 else 0.4
    return cycle * (0.6 if at.weekday() >= 5 else 1.0)


def tenant_usual(hour: int) -> float:
    return usual(hour) * sum(s[3] for s in SERIES)


@dataclass
class Month:
    items: list[tuple[int, dict]] = field(default_factory=list)  # (second of the month, spend item)
    injected: dict[int, float] = field(default_factory=dict)  # hour -> injected spend
    kinds: dict[int, str] = field(default_factory=dict)

    def add(self, second: int, user: str, model: str, service: str, cost: float, session: str = "s") -> None:
        at = START + timedelta(seconds=second)
        self.items.append((second, {
            "offset": 0, "event_id": f"e{len(self.items)}", "occurred_at": at.isoformat(),
            "cost": str(Decimal(cost).quantize(Q)), "status": "priced", "reservation_id": None,
            "facts": {"session_id": f"{session}-{user}-{second // 3600}", "user_id": user, "api_key_id": None,
                      "service": service, "model": model, "attributes": {}}}))

    def inject(self, rng: random.Random, hour: int, user: str, model: str, service: str, amount: float,
               kind: str, within: int = 3600) -> None:
        events = rng.randint(3, 8)
        offset = rng.randrange(0, 3600 - within + 1)
        for _ in range(events):
            self.add(hour * 3600 + offset + rng.randrange(within), user, model, service, amount / events, "inj")
        self.injected[hour] = self.injected.get(hour, 0.0) + amount
        self.kinds[hour] = kind


def synthetic_month(seed: int, noise: float = 0.15) -> Month:
    rng = random.Random(seed)
    month = Month()
    for hour in range(HOURS):
        for user, model, service, peak in SERIES:
            spend = peak * usual(hour) * rng.uniform(1 - noise, 1 + noise)
            events = rng.randint(1, 4)
            for _ in range(events):
                month.add(hour * 3600 + rng.randrange(3600), user, model, service, spend / events)
    taken: set[int] = set(range(0, 6))

    def free(length: int, low: int = 24) -> int:
        while True:
            start = rng.randrange(low, HOURS - length)
            if not taken & set(range(start - 2, start + length + 2)):
                taken.update(range(start, start + length))
                return start

    def spike(start: int) -> None:
        user, model, service, _ = rng.choice(SERIES)
        times = rng.uniform(2, 5)
        for hour in range(start, start + rng.randint(1, 2)):
            taken.add(hour)
            month.inject(rng, hour, user, model, service, times * tenant_usual(hour), "spike")

    spike(10)  # the first day: a wide band, still caught
    taken.update(range(8, 14))
    for _ in range(8):
        spike(free(2))
    for _ in range(3):
        start = free(6)
        user, model, service, _ = rng.choice(SERIES)
        for step in range(6):
            month.inject(rng, start + step, user, model, service, 0.5 * (step + 1) * tenant_usual(start + step),
                         "ramp")
    start = free(5)
    for hour in range(start, start + 5):
        month.inject(rng, hour, "ben", "gemini-2.5-pro", "text", 2.0 * tenant_usual(hour), "new model")
    for _ in range(2):
        hour = free(1)
        month.inject(rng, hour, "fay", "gemini-2.5-flash", "text", 1.5 * tenant_usual(hour), "burst", within=300)
    month.items.sort(key=lambda pair: pair[0])
    return month


@dataclass
class Evaluation:
    precision: float
    recall: float
    true_hours: int
    predicted_hours: int
    hits: int
    alerts: int
    missed: list[str]
    false_alarms: list[str]
    items: int
    seconds: float
    state_bytes: int


def evaluate(seed: int = 7, noise: float = 0.15) -> Evaluation:
    month = synthetic_month(seed, noise)
    ledger = BudgetLedger({})
    predicted: set[int] = set()
    alerts = 0
    started = time.perf_counter()
    batch: list[dict] = []
    for index, (second, item) in enumerate(month.items):
        item["offset"] = index
        batch.append(item)
        if len(batch) == 50 or index == len(month.items) - 1:
            at = START + timedelta(seconds=second)
            command = commands.spend(TENANT, "eval:0", batch, at=at)
            for output in ledger.apply(command, 0, index):
                anomaly = output.value.get("anomaly")
                if output.kind == "alert" and anomaly:
                    alerts += 1
                    window = datetime.fromisoformat(anomaly["window_start"])
                    predicted.add(int((window - START).total_seconds()) // 3600)
            batch = []
    seconds = time.perf_counter() - started
    truth = {h for h, amount in month.injected.items() if amount >= TRUTH_SHARE * tenant_usual(h)}
    ignored = set(month.injected) - truth
    counted = predicted - ignored
    hits = len(counted & truth)
    state = ledger.table[tenant_key(TENANT)]["anomaly"]

    def label(hour: int) -> str:
        return f"{START + timedelta(hours=hour):%m-%d %H}h {month.kinds.get(hour, 'usual')}"

    return Evaluation(
        precision=hits / len(counted) if counted else 1.0, recall=hits / len(truth) if truth else 1.0,
        true_hours=len(truth), predicted_hours=len(counted), hits=hits, alerts=alerts,
        missed=[label(h) for h in sorted(truth - counted)], false_alarms=[label(h) for h in sorted(counted - truth)],
        items=len(month.items), seconds=seconds, state_bytes=len(json.dumps(state)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meterstream.insights.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=0, help="also summarise seeds 1..N (min and mean)")
    parser.add_argument("--noise", type=float, default=0.15, help="each series' hourly spend varies by ± this share")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.seeds:
        runs = [evaluate(seed, args.noise) for seed in range(1, args.seeds + 1)]
        for name in ("precision", "recall"):
            values = [getattr(run, name) for run in runs]
            print(f"{name} over seeds 1-{args.seeds}: min {min(values):.3f}, mean {sum(values) / len(values):.3f}")
    result = evaluate(args.seed, args.noise)
    if args.json:
        print(json.dumps(result.__dict__, indent=2))
        return 0
    print(f"synthetic month, seed {args.seed}, noise ±{args.noise:.0%}: {result.items:,} spend items through the budget ledger "
          f"in {result.seconds:.1f} s; detector state {result.state_bytes:,} bytes")
    print(f"precision {result.precision:.3f} ({result.hits}/{result.predicted_hours} predicted hours), "
          f"recall {result.recall:.3f} ({result.hits}/{result.true_hours} anomalous hours), {result.alerts} alerts")
    if result.missed:
        print("missed: " + ", ".join(result.missed))
    if result.false_alarms:
        print("false alarms: " + ", ".join(result.false_alarms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
