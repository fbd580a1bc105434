"""The budget ledger: every decision about a tenant's budgets, made in one place, in order.

Why one place. A reservation may only be granted if the budget's settled spend plus the
holds already granted leave room for it; two API processes deciding on their own would
both see the same room and both grant it (the overshoot LiteLLM's users report). So every
budget command of a tenant (define, delete, reserve, release, expire, and the spend the
metering worker reports) is a message on one partition of `usage.budget-commands`, keyed
by tenant, and the one worker that owns that partition applies them one after another.
Decisions are serialized by the partition, not by a lock, and survive any API crash: a
command on the topic is decided even if its sender is gone.

Kept free of Kafka, like the metering processor: the budget owner (budgets/owner.py) feeds
it commands and sends what it returns. State lives in one mapping that the owner backs with
a changelog topic: one entry per tenant (`t:<tenant>`) with its budgets (definition, spend
per period, thresholds crossed, the amount held), how many holds are open, the last command
offset applied per command partition, the last source offset applied per metered
partition, and counts of reservation mismatches; and one entry per open hold
(`h:<tenant>:<reservation id>`), so a batch rewrites the holds it changed, not all of them.

The two kinds of entry must come back from a crash at one moment: a hold without the
tenant entry that counts it in `reserved` (or the tenant entry without the hold) would
leave the sums wrong, as a hold under its own key once did in the chaos suite's kill -9
of a loaded worker. They do, because a tenant's entries all live in its commands'
partition, the owner writes a batch's holds before the tenant entry (one idempotent
producer: in order, no gaps), and the restore keeps a hold record only when a tenant entry
written after it confirms it (store.py): what a crash cut off before the tenant entry is
dropped, and the replay writes it again.

Exactly once, across kill -9 and replays (at-least-once delivery):
- A command at or below the tenant's recorded offset was applied; it is not applied again,
  but what it produced is sent again (its reply, the alerts it raised), because a crash
  may have lost those sends.
- Spend items carry their source position (offset, and index for an event of a batch
  envelope: schemas/envelope.py); an item at or below the source's recorded position was
  counted, so a re-send of the same metered message counts once.
- A decision depends only on the state and the command's own bytes (its `at` time is set
  by the sender), so a replay of a command whose effects were lost decides the same again.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from meterstream.budgets.forecast import runs_out_at
from meterstream.budgets.periods import period_bounds
from meterstream.insights import anomaly
from meterstream.schemas.alerts import (
    AlertEvent,
    AlertKind,
    AlertRecord,
    BudgetAlert,
    alert_id,
    format_money,
    period_label,
)
from meterstream.schemas.budgets import BudgetDefinition, UsageFacts, scope_applies, threshold_key
from meterstream.schemas.envelope import position as item_position
from meterstream.schemas.envelope import restored_position, stored_position

ZERO = Decimal(0)
# Spend per period is kept this long after the period ended (late events still count in
# their own period; the views show the last periods).
KEEP_PERIODS = timedelta(days=40)
# Past this many open holds a tenant's new reservations are refused until some are settled,
# released or expired: each is kept in memory and in the expiry index (expiry.py).
DEFAULT_MAX_OPEN_HOLDS = 10_000
HOLD_PREFIX = "h:"
TENANT_PREFIX = "t:"


def tenant_key(tenant_id: str) -> str:
    return f"{TENANT_PREFIX}{tenant_id}"


def hold_key(tenant_id: str, reservation_id: str) -> str:
    return f"{HOLD_PREFIX}{tenant_id}:{reservation_id}"


def tenant_of_hold(key: str) -> str:
    return key.removeprefix(HOLD_PREFIX).rsplit(":", 1)[0]  # reservation ids hold no ':'


def reservation_id_for(request_id: str, expires_at: datetime) -> str:
    """A reservation id that tells its own expiry, so a late settlement can say "expired"."""
    return f"rsv_{int(expires_at.timestamp()):x}_{request_id}"


def expiry_of(reservation_id: str) -> datetime | None:
    parts = reservation_id.split("_", 2)
    if len(parts) != 3 or parts[0] != "rsv":
        return None
    try:
        return datetime.fromtimestamp(int(parts[1], 16), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Output:
    """Something to send once the command's state is written: an alert or a reply."""

    kind: str  # "alert" (to usage.alerts, keyed by tenant) or "reply" (to the budget replies topic)
    key: str
    value: dict[str, Any]


def new_tenant_state() -> dict[str, Any]:
    return {"offsets": {}, "sources": {}, "budgets": {}, "open_holds": 0, "settled": 0, "expired": 0,
            "mismatches": {"unknown": 0, "expired": 0}}


class BudgetLedger:
    def __init__(self, table: MutableMapping[str, Any], max_open_holds: int = DEFAULT_MAX_OPEN_HOLDS) -> None:
        self.table = table
        self.max_open_holds = max_open_holds
        # The parsed definition of each (tenant, budget), latest revision only: matching runs per
        # event and budget, and an old revision is never asked for again.
        # (A budget deleted and defined again under its id restarts at revision 1: updated_at tells.)
        self._definitions: dict[tuple[str, str], tuple[tuple[int, str], BudgetDefinition]] = {}

    def definition(self, entry: dict[str, Any]) -> BudgetDefinition:
        raw = entry["def"]
        key, version = (raw["tenant_id"], raw["budget_id"]), (raw["revision"], str(raw["updated_at"]))
        cached = self._definitions.get(key)
        if cached is None or cached[0] != version:
            cached = self._definitions[key] = (version, BudgetDefinition.model_validate(raw))
        return cached[1]

    def _matching(self, state: dict[str, Any], facts: UsageFacts) -> list[tuple[str, dict[str, Any]]]:
        return [(budget_id, entry) for budget_id, entry in state["budgets"].items()
                if scope_applies(self.definition(entry).scope, facts)]

    # -- the one entry point ------------------------------------------------------------------

    def apply(self, command: dict[str, Any], partition: int, offset: int) -> list[Output]:
        tenant = command["tenant"]
        key = tenant_key(tenant)
        state = self.table.get(key) or new_tenant_state()
        if "holds" in state:
            self._move_holds_out(tenant, state)
        position = f"{partition}@{offset}"
        applied = state["offsets"].get(str(partition), -1) >= offset
        handler = getattr(self, ("_replay_" if applied else "_apply_") + command["kind"])
        outputs = handler(command, state, position)
        state["offsets"][str(partition)] = max(offset, state["offsets"].get(str(partition), -1))
        self.table[key] = state
        return outputs

    def tenant_state(self, tenant_id: str) -> dict[str, Any] | None:
        return self.table.get(tenant_key(tenant_id))

    # -- holds ----------------------------------------------------------------------------------

    def _hold(self, tenant: str, reservation_id: str) -> dict[str, Any] | None:
        return self.table.get(hold_key(tenant, reservation_id))

    def _move_holds_out(self, tenant: str, state: dict[str, Any]) -> None:
        """A tenant entry from before holds had keys of their own."""
        holds = state.pop("holds")
        for reservation_id, hold in holds.items():
            self.table[hold_key(tenant, reservation_id)] = hold
        state["open_holds"] = len(holds)

    # -- definitions ----------------------------------------------------------------------------

    def _apply_define(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        definition = command["budget"]
        budget_id = definition["budget_id"]
        entry = state["budgets"].get(budget_id)
        if entry is None:
            entry = state["budgets"][budget_id] = {"def": {**definition, "revision": 1}, "reserved": "0", "periods": {}}
        else:
            old = entry["def"]
            entry["def"] = {**definition, "revision": old["revision"] + 1, "created_at": old["created_at"]}
            if (old["scope"], old["period"]) != (definition["scope"], definition["period"]):
                entry["periods"] = {}  # what it counts changed: count afresh from the next event
            else:
                _forget_crossings_above(entry)
        return [_reply(command, ok=True, budget=entry["def"])]

    def _replay_define(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        entry = state["budgets"].get(command["budget"]["budget_id"])
        return [_reply(command, ok=entry is not None, budget=None if entry is None else entry["def"])]

    def _apply_delete(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        entry = state["budgets"].pop(command["budget_id"], None)
        return [_reply(command, ok=entry is not None)]

    def _replay_delete(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        return [_reply(command, ok=True)]

    # -- reservations -------------------------------------------------------------------------

    def _apply_reserve(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        reservation_id = command["reservation_id"]
        existing = self._hold(command["tenant"], reservation_id)
        if existing is not None:  # the sender asked again (its answer was lost): same answer
            return [_granted(command, existing, state)]
        if state["open_holds"] >= self.max_open_holds:
            return [_reply(command, granted=False, reservation_id=reservation_id, amount=command["amount"],
                           refused_by=[], open_holds=state["open_holds"])]
        at = instant(command["at"])
        amount = Decimal(command["amount"])
        facts = UsageFacts.model_validate(command["facts"])
        matching = self._matching(state, facts)
        refusals = []
        for budget_id, entry in matching:
            if entry["def"]["action"] != "block":
                continue
            status = status_under(self.definition(entry), entry, at)
            if amount > status["remaining"]:
                refusals.append({**_status_json(status), "budget_id": budget_id, "name": entry["def"]["name"]})
        if refusals:
            refusals.sort(key=lambda refusal: Decimal(refusal["remaining"]))
            return [_reply(command, granted=False, reservation_id=reservation_id, amount=command["amount"],
                           refused_by=refusals)]
        hold = {"tenant": command["tenant"], "amount": command["amount"], "budgets": [b for b, _ in matching],
                "granted_at": command["at"], "expires_at": command["expires_at"], "request_id": command["request_id"],
                "position": position}
        for _, entry in matching:
            entry["reserved"] = str(Decimal(entry["reserved"]) + amount)
        self.table[hold_key(command["tenant"], reservation_id)] = hold
        state["open_holds"] += 1
        return [_granted(command, hold, state)]

    def _replay_reserve(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        hold = self._hold(command["tenant"], command["reservation_id"])
        if hold is None or hold["position"] != position:
            return []  # refused, or settled since: the sender has its answer or asks again
        return [_granted(command, hold, state)]

    def _apply_release(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        released = self._release(command["tenant"], command["reservation_id"], state)
        return [_reply(command, ok=released, reservation_id=command["reservation_id"])]

    def _replay_release(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        return [_reply(command, ok=True, reservation_id=command["reservation_id"])]

    def _apply_expire(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        at = instant(command["at"])
        tenant = command["tenant"]
        for reservation_id in command["reservation_ids"]:
            hold = self._hold(tenant, reservation_id)
            if hold is not None and instant(hold["expires_at"]) <= at and self._release(tenant, reservation_id, state):
                state["expired"] += 1
        return []

    def _replay_expire(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        return []

    def _release(self, tenant: str, reservation_id: str, state: dict[str, Any]) -> bool:
        key = hold_key(tenant, reservation_id)
        hold = self.table.get(key)
        if hold is None:
            return False
        del self.table[key]
        state["open_holds"] -= 1
        amount = Decimal(hold["amount"])
        for budget_id in hold["budgets"]:
            entry = state["budgets"].get(budget_id)
            if entry is not None:
                entry["reserved"] = str(Decimal(entry["reserved"]) - amount)
        return True

    # -- spend ----------------------------------------------------------------------------------

    def _apply_spend(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        source = command["source"]
        last = restored_position(state["sources"].get(source, -1))
        stored = state["sources"].get(source, -1)
        at = instant(command["at"])
        outputs: list[Output] = []
        for item in command["items"]:
            here = item_position(item["offset"], item.get("index"))
            if here <= last:
                continue  # counted when this source message was first metered
            last, stored = here, stored_position(item["offset"], item.get("index"))
            outputs.extend(self._count(item, command["tenant"], state, at, position))
        state["sources"][source] = stored
        _prune_periods(state, at)
        return outputs

    def _replay_spend(self, command: dict[str, Any], state: dict[str, Any], position: str) -> list[Output]:
        return [Output("alert", command["tenant"], {k: v for k, v in alert.items() if k != "position"})
                for entry in state["budgets"].values() for period in entry["periods"].values()
                for alert in period["alerts"] if alert["position"] == position] + [
                Output("alert", command["tenant"], alert) for alert in anomaly.replayed(state, position)]

    def _count(self, item: dict[str, Any], tenant: str, state: dict[str, Any], at: datetime,
               position: str) -> list[Output]:
        reservation_id = item.get("reservation_id")
        if reservation_id:
            if self._release(tenant, reservation_id, state):
                state["settled"] += 1
            else:
                expiry = expiry_of(reservation_id)
                state["mismatches"]["expired" if expiry is not None and expiry <= at else "unknown"] += 1
        # Spend anomalies, counted here so that each item is seen once (insights/anomaly.py).
        outputs = [Output("alert", tenant, alert.model_dump(mode="json"))
                   for alert in anomaly.observe(state, tenant, item, at, position)]
        if not state["budgets"]:
            return outputs
        facts = UsageFacts.model_validate(item["facts"])
        cost = Decimal(item["cost"])
        occurred = instant(item["occurred_at"])
        for _, entry in self._matching(state, facts):
            definition = self.definition(entry)
            start, end = period_bounds(definition.period, occurred)
            period = entry["periods"].setdefault(start.isoformat(), _new_period(end))
            period["spent"] = str(Decimal(period["spent"]) + cost)
            period["operations"] += 1
            if item["status"] == "unpriced":
                period["unpriced"] += 1
            for alert in _new_alerts(definition, period, start, end, item, tenant, at):
                period["alerts"].append({**alert.model_dump(mode="json"), "position": position})
                outputs.append(Output("alert", tenant, alert.model_dump(mode="json")))
        return outputs


# -- pure helpers -------------------------------------------------------------------------------

def _new_period(end: datetime | None) -> dict[str, Any]:
    return {"end": None if end is None else end.isoformat(), "spent": "0", "operations": 0, "unpriced": 0,
            "crossed": [], "forecast": None, "alerts": []}


def _forget_crossings_above(entry: dict[str, Any]) -> None:
    """After a change of limit or thresholds, a threshold no longer reached may be crossed again."""
    definition = BudgetDefinition.model_validate(entry["def"])
    for period in entry["periods"].values():
        spent = Decimal(period["spent"])
        period["crossed"] = [t for t in period["crossed"]
                             if Decimal(t) in definition.thresholds and spent >= _amount_at(definition, Decimal(t))]
        period["forecast"] = None


def _amount_at(definition: BudgetDefinition, threshold: Decimal) -> Decimal:
    return definition.limit * threshold / 100


def _new_alerts(definition: BudgetDefinition, period: dict[str, Any], start: datetime, end: datetime | None,
                item: dict[str, Any], tenant: str, at: datetime) -> list[AlertRecord]:
    spent = Decimal(period["spent"])
    event = AlertEvent(event_id=item["event_id"], session_id=item["facts"]["session_id"],
                       user_id=item["facts"].get("user_id"), service=item["facts"]["service"],
                       model=item["facts"]["model"], cost=Decimal(item["cost"]), occurred_at=instant(item["occurred_at"]))
    label = period_label(start, definition.period.value)
    alerts = []
    for threshold in definition.thresholds:
        key = threshold_key(threshold)
        if key in period["crossed"] or spent < _amount_at(definition, threshold):
            continue
        period["crossed"].append(key)
        alerts.append(AlertRecord(
            alert_id=alert_id(tenant, definition.budget_id, definition.revision, start.isoformat(), "threshold", key),
            kind=AlertKind.BUDGET_THRESHOLD, tenant_id=tenant, raised_at=at, event=event,
            title=f"Budget '{definition.name}' reached {key}% of {format_money(definition.limit, definition.currency)} "
                  f"({label}): {format_money(spent, definition.currency)} spent",
            budget=_budget_alert(definition, start, end, spent, threshold=threshold),
        ))
    if period["forecast"] is None and end is not None and start <= at < end:
        runout = runs_out_at(start, end, at, spent, definition.limit)
        if runout is not None:
            period["forecast"] = runout.isoformat()
            alerts.append(AlertRecord(
                alert_id=alert_id(tenant, definition.budget_id, definition.revision, start.isoformat(), "forecast"),
                kind=AlertKind.BUDGET_FORECAST, tenant_id=tenant, raised_at=at, event=event,
                title=f"Budget '{definition.name}': at this {definition.period.value}'s rate its "
                      f"{format_money(definition.limit, definition.currency)} run out on {runout:%Y-%m-%d %H:%M} UTC",
                budget=_budget_alert(definition, start, end, spent, runs_out=runout),
            ))
    return alerts


def _budget_alert(definition: BudgetDefinition, start: datetime, end: datetime | None, spent: Decimal,
                  threshold: Decimal | None = None, runs_out: datetime | None = None) -> BudgetAlert:
    return BudgetAlert(budget_id=definition.budget_id, name=definition.name, period_start=start, period_end=end,
                       threshold=threshold, spent=spent, limit=definition.limit, currency=definition.currency,
                       action=definition.action.value, runs_out_at=runs_out)


def _prune_periods(state: dict[str, Any], at: datetime) -> None:
    for entry in state["budgets"].values():
        for start, period in list(entry["periods"].items()):
            if period["end"] is not None and instant(period["end"]) < at - KEEP_PERIODS:
                del entry["periods"][start]


def budget_status(entry: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A budget's figures for the period containing `at`: what the views and decisions use."""
    return status_under(BudgetDefinition.model_validate(entry["def"]), entry, at)


def status_under(definition: BudgetDefinition, entry: dict[str, Any], at: datetime) -> dict[str, Any]:
    """budget_status for an entry whose definition is already parsed (the ledger's cache)."""
    start, end = period_bounds(definition.period, at)
    period = entry["periods"].get(start.isoformat()) or _new_period(end)
    spent = Decimal(period["spent"])
    reserved = Decimal(entry["reserved"])
    return {
        "limit": definition.limit, "spent": spent, "reserved": reserved, "remaining": definition.limit - spent - reserved,
        "operations": period["operations"], "unpriced_operations": period["unpriced"],
        "period_start": start, "period_end": end,
        "thresholds_crossed": sorted((Decimal(t) for t in period["crossed"])),
        "runs_out_at": None if period["forecast"] is None else instant(period["forecast"]),
    }


def _status_json(status: dict[str, Any]) -> dict[str, Any]:
    return {name: status[name] if not isinstance(status[name], Decimal) else str(status[name])
            for name in ("limit", "spent", "reserved", "remaining")}


def _reply(command: dict[str, Any], **fields: Any) -> Output:
    return Output("reply", command["request_id"], {"request_id": command["request_id"], **fields})


def _granted(command: dict[str, Any], hold: dict[str, Any], state: dict[str, Any]) -> Output:
    return _reply(command, granted=True, reservation_id=command["reservation_id"], amount=hold["amount"],
                  expires_at=hold["expires_at"], budgets=hold["budgets"])


def too_many_holds(reply: dict[str, Any]) -> str | None:
    """Why a refused reservation was refused when no budget refused it: the tenant's open
    holds are at the limit. None for any other reply."""
    if reply.get("granted") is not False or reply.get("refused_by"):
        return None
    return (f"the tenant has {reply['open_holds']} open reservations, the most allowed "
            "(METERSTREAM_MAX_OPEN_RESERVATIONS): settle or release some first")
