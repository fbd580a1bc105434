"""Spend anomalies, detected in the stream where every metered event's cost arrives once, in order.

Where it runs. The budget ledger (meterstream/budgets/ledger.py) counts each tenant's spend
items exactly once (replays of a source position are skipped) and keeps the tenant's whole
state in one table entry. `observe()` is called from its counting path with that entry, and
keeps its own small state under `entry["anomaly"]`, so it inherits the ledger's guarantees:
an item is observed once, the state survives a crash with the rest of the entry, and the
alerts a spend command raised are sent again when the command is replayed (`replayed()`).

What it watches, per tenant (money in integer picodollars, 1e-12, exact):
- the tenant's spend per UTC hour, against a seasonal baseline: the hours at the same time
  of day (±1 h) on up to the 7 previous days, or, with less than a day of history, every
  past hour (a ring of 168 hourly sums);
- the spend per (user, model) of at most `TOP_SERIES` series, against the median of its last
  24 hours. A newcomer is admitted while there is room, or when one of its events costs more
  than the smallest tracked series spent in its whole window (which it then replaces), so
  the tracked set follows the spend without churning on many small users;
- the tenant's spend per 5 minutes (a burst).

The rule (robust, documented in docs/insights.md):
    expected  = median(baseline sample)
    spread    = max(1.4826 × MAD(sample), 25 % of expected, 0.05 currency units)
    k         = 3.5 × (1 + 3 / sqrt(history hours))   (wide while history is short)
    threshold = expected + k × spread
An hour is anomalous once its spend so far exceeds the threshold; a burst when five minutes
spend more than half the hour's threshold (one tenant alert per hour: a burst, when it comes
first, is the hour's early warning). A (user, model) series is anomalous when it
exceeds its own threshold and its excess is at least a quarter of the tenant's expected
hour (and at least 0.10). A series that first appears after the tenant's first day starts with a window of
zeros (it spent nothing before), so a new model or user spending that much is unusual until
it has spent in half of its 24 hours. The first hour has no baseline and raises nothing; from the second hour on
the band is wide and narrows as history accrues.

Each alert is raised once per window (series, window start, length), with a deterministic
id, and says what drove it: the tracked (user, model, service) with the largest excess over
its own baseline. A series' own alert is left out when the tenant's alert of that hour
already names it as the driver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meterstream.schemas.alerts import AlertKind, AlertRecord, AnomalyAlert, AnomalyDriver, alert_id, format_money

PICO = 12
HOUR, FIVE_MINUTES = 3600, 300
RING_HOURS = 168  # the tenant's hourly history: a week, for the time-of-day baseline
SERIES_HOURS = 24  # each (user, model) series' hourly history
TOP_SERIES = 12
K_BASE = Decimal("3.5")
MAD_SCALE = Decimal("1.4826")  # MAD × this estimates a standard deviation under normal noise
MIN_SPREAD_SHARE = Decimal("0.25")
MIN_SPREAD = 5 * 10 ** (PICO - 2)  # 0.05 currency units: a few cents an hour is never unusual
SERIES_MATERIALITY = 4  # a series' excess must be at least 1/4 of the tenant's expected hour,
MIN_SERIES_EXCESS = 10 ** (PICO - 1)  # and at least 0.10 currency units
BURST_DIVISOR = 2  # a burst: five minutes above half the hour's threshold
KEEP_SENT = 6  # alerts remembered with their spend command position, to send again on its replay
SEP = "\x1f"


def new_state() -> dict[str, Any]:
    return {"hour": None, "hist": [], "cur": 0, "thr": None, "exp": None, "n": 0,
            "slot": None, "slot_cur": 0, "series": {}, "raised": [], "sent": [], "currency": "USD"}


def _pico(cost: str) -> int:
    return int(Decimal(cost).scaleb(PICO))


def _money(pico: int) -> Decimal:
    return Decimal(pico).scaleb(-PICO) if pico else Decimal(0)


def _median(values: list[int]) -> int:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2


def _k(history_hours: int) -> Decimal:
    return K_BASE * (1 + 3 / Decimal(max(history_hours, 1)).sqrt())


_K = [_k(n) for n in range(RING_HOURS + 1)]


def band(sample: list[int], history_hours: int) -> tuple[int, int]:
    """(expected, threshold) in picodollars from a baseline sample and the hours of history."""
    expected = _median(sample)
    mad = _median([abs(v - expected) for v in sample])
    spread = max(MAD_SCALE * mad, MIN_SPREAD_SHARE * expected, Decimal(MIN_SPREAD))
    k = _K[history_hours] if history_hours < len(_K) else _k(history_hours)
    return expected, int(expected + k * spread)


def _tenant_sample(hist: list[int]) -> list[int]:
    """Same time of day (±1 h) on previous days when there is a day of history, else every hour.
    `hist[-1]` is the hour just before the current one."""
    if len(hist) < 24:
        return list(hist)
    sample = []
    for day in range(1, 8):
        for offset in (-1, 0, 1):
            back = 24 * day + offset  # hours back from the current hour
            if 1 <= back <= len(hist):
                sample.append(hist[-back])
    return sample


def _roll(state: dict[str, Any], hour: int) -> None:
    """Close the hours up to `hour` (gaps count as hours without spend) and set the new bands."""
    if state["hour"] is not None:
        gap = min(hour - state["hour"], RING_HOURS)
        closed = [state["cur"]] + [0] * (gap - 1)
        state["hist"] = (state["hist"] + closed)[-RING_HOURS:]
        state["n"] += hour - state["hour"]
        for series in state["series"].values():
            series["hist"] = (series["hist"] + [series["cur"]] + [0] * (gap - 1))[-SERIES_HOURS:]
            series["tot"] = sum(series["hist"])
            series["n"] += hour - state["hour"]
            series["cur"] = 0
            series["exp"], series["thr"] = band(series["hist"], series["n"])
    state["hour"], state["cur"], state["raised"] = hour, 0, []
    if state["hist"]:
        state["exp"], state["thr"] = band(_tenant_sample(state["hist"]), state["n"])
    else:
        state["exp"] = state["thr"] = None


def _late(state: dict[str, Any], hour: int, pico: int, key: str) -> None:
    """An event of an hour already closed: it counts in that hour's history, raising nothing."""
    back = state["hour"] - hour
    if back <= len(state["hist"]):
        state["hist"][-back] += pico
    series = state["series"].get(key)
    if series is not None and back <= len(series["hist"]):
        series["hist"][-back] += pico
        series["tot"] += pico


def _track(state: dict[str, Any], key: str, service: str, pico: int) -> dict[str, Any] | None:
    """The series of `key`, admitted when there is room, or when this one event costs more than
    the smallest tracked series spent in its whole window (which it then replaces); else None."""
    tracked = state["series"]
    series = tracked.get(key)
    if series is None:
        if len(tracked) >= TOP_SERIES:
            smallest = min(tracked, key=lambda k: tracked[k]["tot"])
            if tracked[smallest]["tot"] >= pico:
                return None
            del tracked[smallest]
        # A series that appears once the tenant has a day of history spent nothing before: its
        # window starts as zeros, so a new model or user stays unusual until it is half its window old.
        zeros = SERIES_HOURS if state["n"] >= SERIES_HOURS else 0
        series = tracked[key] = {"hist": [0] * zeros, "cur": 0, "tot": 0, "n": zeros, "exp": 0, "thr": None,
                                 "svc": service}
        if zeros:
            series["exp"], series["thr"] = band(series["hist"], zeros)
    return series


def observe(entry: dict[str, Any], tenant: str, item: dict[str, Any], at: datetime,
            position: str) -> list[AlertRecord]:
    """Count one spend item (the ledger counts each once); the anomaly alerts it raises."""
    state = entry.get("anomaly")
    if state is None:
        state = entry["anomaly"] = new_state()
    pico = _pico(item["cost"])
    if pico <= 0:
        return []
    seconds = int(datetime.fromisoformat(item["occurred_at"]).timestamp())
    hour, slot = seconds // HOUR, seconds // FIVE_MINUTES
    facts = item["facts"]
    key = f"{facts.get('user_id') or ''}{SEP}{facts['model']}"
    if state["hour"] is not None and hour < state["hour"]:
        _late(state, hour, pico, key)
        return []
    if state["hour"] != hour:
        _roll(state, hour)
    if state["slot"] != slot:
        state["slot"], state["slot_cur"] = slot, 0
    state["cur"] += pico
    state["slot_cur"] += pico
    series = _track(state, key, facts["service"], pico)
    if series is not None:
        series["cur"] += pico
        series["tot"] += pico
    if state["thr"] is None:
        return []  # the very first hour: nothing to compare with yet
    alerts = []
    if "h" not in state["raised"]:  # one tenant alert per hour: the hour's, or a burst's (earlier)
        if state["cur"] > state["thr"]:
            alerts.append(_alert(state, tenant, at, "tenant", hour * HOUR, 60, state["cur"]))
        elif state["slot_cur"] > state["thr"] // BURST_DIVISOR:
            alerts.append(_alert(state, tenant, at, "tenant", slot * FIVE_MINUTES, 5, state["slot_cur"],
                                 threshold=state["thr"] // BURST_DIVISOR))
        if alerts:
            state["raised"].append("h")
            drivers = alerts[0].anomaly.drivers if alerts[0].anomaly else []
            if drivers and f"{drivers[0].user_id or ''}{SEP}{drivers[0].model}" == key:
                state["raised"].append(f"s{key}")  # the tenant alert already names this series
    if series is None:
        return _remember(state, alerts, position)
    material = max((state["exp"] or 0) // SERIES_MATERIALITY, MIN_SERIES_EXCESS)
    series_thr = series["thr"] if series["thr"] is not None else 0
    if (series["cur"] > series_thr and series["cur"] - series["exp"] >= material
            and f"s{key}" not in state["raised"]):
        state["raised"].append(f"s{key}")
        alerts.append(_alert(state, tenant, at, "user_model", hour * HOUR, 60, series["cur"], key=key,
                             threshold=max(series_thr, series["exp"] + material)))
    return _remember(state, alerts, position)


def _remember(state: dict[str, Any], alerts: list[AlertRecord], position: str) -> list[AlertRecord]:
    if alerts:
        sent = state["sent"] + [{**alert.model_dump(mode="json"), "position": position} for alert in alerts]
        state["sent"] = sent[-KEEP_SENT:]
    return alerts


def _driver(key: str, series: dict[str, Any]) -> AnomalyDriver:
    user, _, model = key.partition(SEP)
    return AnomalyDriver(user_id=user or None, model=model, service=series["svc"], spent=_money(series["cur"]),
                         expected=_money(series["exp"]))


def _alert(state: dict[str, Any], tenant: str, at: datetime, kind: str, start: int, minutes: int, spent: int,
           key: str | None = None, threshold: int | None = None) -> AlertRecord:
    window = datetime.fromtimestamp(start, UTC)
    if key is not None:
        series = state["series"][key]
        expected, history, drivers = series["exp"], series["n"], [_driver(key, series)]
    else:
        expected, history = state["exp"] or 0, state["n"]
        excess = sorted(state["series"].items(), key=lambda kv: kv[1]["exp"] - kv[1]["cur"])
        drivers = [_driver(k, s) for k, s in excess[:3] if s["cur"] > s["exp"]]
    threshold = state["thr"] if threshold is None else threshold
    currency = state["currency"]
    if minutes == 5:
        what, expected = "Spend burst", expected // 12
    elif key is not None:
        what = "Unusual spend"
    else:
        what = "Unusual hourly spend"
    top = drivers[0] if drivers else None
    by = f" driven by {top.user_id or 'no user'} on {top.model} ({top.service})" if top else ""
    title = (f"{what}{by}: {format_money(_money(spent), currency)} in {minutes} min from {window:%Y-%m-%d %H:%M} UTC,"
             f" expected about {format_money(_money(expected).quantize(Decimal('0.01')), currency)}")
    return AlertRecord(
        alert_id=alert_id(tenant, "anomaly", kind, key or "", window.isoformat(), minutes),
        kind=AlertKind.ANOMALY_BURST if minutes == 5 else AlertKind.ANOMALY_SPEND, tenant_id=tenant, raised_at=at,
        title=title,
        anomaly=AnomalyAlert(series=kind, window_start=window, window_minutes=minutes, spent=_money(spent),
                             expected=_money(expected), threshold=_money(threshold), history_hours=history,
                             currency=currency, drivers=drivers),
    )


def replayed(entry: dict[str, Any], position: str) -> list[dict[str, Any]]:
    """The alerts the spend command at `position` raised, to send again on its replay."""
    state = entry.get("anomaly") or {}
    return [{k: v for k, v in sent.items() if k != "position"} for sent in state.get("sent", [])
            if sent["position"] == position]
