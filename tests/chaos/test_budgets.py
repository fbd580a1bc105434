"""Budgets through crashes, on the real broker and worker processes: alerts reach a webhook
exactly once per threshold through worker kills and a receiver outage (the alert relay and
delivery run here; a real HTTP receiver checks every signature with the `standardwebhooks`
package), and holds survive a kill -9 of the worker."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterstream.alerts.delivery import DeliveryOptions
from meterstream.alerts.retry import RetryPolicy
from meterstream.alerts.runner import AlertsThread
from meterstream.alerts.store import AlertStore
from meterstream.budgets import commands
from meterstream.budgets.client import BudgetClient
from meterstream.producers import UsageEmitter
from meterstream.budgets.ledger import budget_status
from meterstream.schemas.budgets import BudgetAction, BudgetDefinition, UsageFacts
from tests.alerting import Receiver, new_tenant
from tests.chaos.harness import ChaosRun, ask_patiently
from tests.conftest import eventually

pytestmark = pytest.mark.chaos

EVENTS = 400  # 0.03 USD each: 12 USD in all, so 50, 80 and 100 % of 10 USD are crossed
CALL = {"service": "text", "model": "gemini-2.5-flash", "usage": {"unit": "tokens", "input_tokens": 100_000}}
FAST = DeliveryOptions(timeout=2, concurrency=8, poll_seconds=0.05, policy=RetryPolicy(base=0.2, cap=1.0, max_age=600))


def define_monthly_budget(chaos: ChaosRun, tenant: str) -> None:
    now = datetime.now(UTC)
    with BudgetClient(chaos.settings) as client:
        client.ask(commands.define(BudgetDefinition(budget_id="monthly", tenant_id=tenant, name="monthly",
                                                    limit=Decimal(10), created_at=now, updated_at=now)))


def stream(chaos: ChaosRun, tenant: str, seconds: float) -> threading.Thread:
    def send() -> None:
        started = time.monotonic()
        with UsageEmitter(chaos.settings, spool_dir=chaos.settings.data_dir / "alerts-spool") as emitter:
            for n in range(EVENTS):
                emitter.emit({**CALL, "tenant_id": tenant, "session_id": f"s-{n % 7}"})
                ahead = (n + 1) * seconds / EVENTS - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    thread = threading.Thread(target=send, name="alerts-producer")
    thread.start()
    return thread


def assert_three_alerts_once_each(receiver: Receiver, path: str) -> None:
    def delivered() -> list:  # the threshold alerts (the stream may also report a spend anomaly)
        return [r for r in receiver.at(path) if r.answered == 200 and r.payload is not None
                and r.payload["type"] == "budget.threshold"]
    eventually(lambda: len(delivered()) >= 3, timeout=120, what="three delivered alerts")
    time.sleep(3)  # anything sent twice would arrive by now
    ok = delivered()
    assert all(r.payload is not None for r in receiver.at(path)), "a request failed signature verification"
    assert Counter(r.webhook_id for r in ok) == {r.webhook_id: 1 for r in ok}, "an alert was delivered twice"
    assert sorted(Decimal(r.payload["data"]["budget"]["threshold"]) for r in ok) == [50, 80, 100]
    assert {r.payload["data"]["budget"]["budget_id"] for r in ok} == {"monthly"}
    for r in ok:  # the same id in the header as in the body, on every try
        assert r.payload["data"]["alert_id"] == r.webhook_id


@pytest.fixture
def alerts(chaos: ChaosRun, tmp_path: Path):
    store = AlertStore(tmp_path / "api.sqlite3")
    with AlertsThread(chaos.settings, store.path, FAST) as thread:
        yield store, thread


def test_three_threshold_alerts_arrive_once_each_through_three_kill_9s_of_the_worker(chaos: ChaosRun, alerts):
    store, _ = alerts
    tenant = new_tenant()
    with Receiver() as receiver:
        _, secret = store.create_webhook(tenant, receiver.url("/hook"))
        receiver.route("/hook", secret, 200)
        define_monthly_budget(chaos, tenant)
        producer = stream(chaos, tenant, seconds=36)
        for _ in range(3):
            time.sleep(9)
            chaos.worker.kill()
            chaos.faults.append("kill -9 worker")
        producer.join()
        assert_three_alerts_once_each(receiver, "/hook")


def test_alerts_sent_while_the_receiver_is_down_for_10_s_arrive_once_each_afterwards(chaos: ChaosRun, alerts):
    store, _ = alerts
    tenant = new_tenant()
    receiver = Receiver().start()
    port = receiver.port
    _, secret = store.create_webhook(tenant, receiver.url("/hook"))
    receiver.stop()  # down: connections refused
    define_monthly_budget(chaos, tenant)
    stream(chaos, tenant, seconds=4).join()
    time.sleep(10)
    with Receiver(port=port) as back:
        back.route("/hook", secret, 200)
        assert_three_alerts_once_each(back, "/hook")


def test_holds_survive_a_kill_9_of_the_worker_and_none_is_released_early(chaos: ChaosRun):
    tenant = new_tenant()
    now = datetime.now(UTC)
    with BudgetClient(chaos.settings) as client:
        client.ask(commands.define(BudgetDefinition(budget_id="tight", tenant_id=tenant, name="tight", limit=Decimal(1),
                                                    action=BudgetAction.BLOCK, created_at=now, updated_at=now)))
        facts = UsageFacts(session_id="s", service="text", model="gemini-2.5-flash")
        held = [client.ask(commands.reserve(tenant, Decimal("0.3"), facts, timedelta(minutes=10))) for _ in range(3)]
        assert [h["granted"] for h in held] == [True, True, True]
        chaos.worker.kill()
        chaos.faults.append("kill -9 worker")
        # The restarted worker still holds 0.90 of the 1.00: the next 0.30 is refused, 0.10 fits.
        refused = ask_patiently(client, commands.reserve(tenant, Decimal("0.3"), facts, timedelta(minutes=10)))
        assert refused["granted"] is False
        assert client.ask(commands.reserve(tenant, Decimal("0.1"), facts, timedelta(minutes=10)))["granted"] is True
        figures = budget_status(client.tenant_state(tenant)["budgets"]["tight"], datetime.now(UTC))
        assert (figures["reserved"], figures["remaining"]) == (Decimal("1.0"), 0)
