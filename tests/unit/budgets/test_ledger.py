"""The budget ledger's rules: spend per period, thresholds once, reservations that never overshoot."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from meterstream.budgets import commands
from meterstream.budgets.ledger import BudgetLedger, budget_status, hold_key, tenant_key, too_many_holds
from meterstream.schemas.budgets import BudgetAction, BudgetPeriod, BudgetScope, ScopeKind
from tests.unit.budgets.builders import NOW, TENANT, budget, item, reserve, spend


class Log:
    """A command partition: each command gets the next offset, as Kafka would give it."""

    def __init__(self) -> None:
        self.table: dict = {}
        self.ledger = BudgetLedger(self.table)
        self.offset = -1

    def send(self, command: dict, partition: int = 0):
        self.offset += 1
        return self.ledger.apply(command, partition, self.offset)

    def replay(self, command: dict, offset: int, partition: int = 0):
        return self.ledger.apply(command, partition, offset)

    def status(self, budget_id: str = "b1", at=NOW) -> dict:
        return budget_status(self.table[tenant_key(TENANT)]["budgets"][budget_id], at)


def alerts(outputs) -> list[dict]:
    """The budget alerts (spend anomalies have tests of their own: tests/unit/insights)."""
    return [o.value for o in outputs if o.kind == "alert" and o.value["kind"].startswith("budget.")]


def reply(outputs) -> dict:
    [answer] = [o.value for o in outputs if o.kind == "reply"]
    return answer


def with_budget(**fields) -> Log:
    log = Log()
    log.send(commands.define(budget(**fields)))
    return log


def test_spend_counts_in_the_period_of_occurred_at():
    log = with_budget(period=BudgetPeriod.DAY)
    log.send(spend(item(0, "1.25"), item(1, "0.50", occurred_at=NOW - timedelta(days=1))))
    assert log.status()["spent"] == Decimal("1.25")
    assert log.status(at=NOW - timedelta(days=1))["spent"] == Decimal("0.50")


def test_a_resent_source_message_counts_once():
    log = with_budget()
    log.send(spend(item(0, "1"), item(1, "2")))
    log.send(spend(item(1, "2"), item(2, "4")))  # the metering worker replayed offset 1
    assert log.status()["spent"] == Decimal("7")


def test_events_of_an_envelope_replayed_from_its_middle_count_once():
    log = with_budget()
    envelope = [{**item(3, "1"), "index": index} for index in range(4)]
    log.send(spend(item(2, "8"), *envelope[:2]))  # kill -9 after the envelope's second event
    log.send(spend(*envelope, item(4, "16")))  # the replay: the whole envelope again, then on
    assert log.status()["spent"] == Decimal("28")
    assert log.table[tenant_key(TENANT)]["sources"]["usage.events:0"] == 4  # a single event: a bare offset


def test_a_guard_stored_as_a_bare_offset_covers_every_event_at_that_offset():
    log = with_budget()
    log.send(spend(item(3, "1")))
    log.send(spend({**item(3, "2"), "index": 0}, {**item(4, "4"), "index": 0}))
    assert log.status()["spent"] == Decimal("5")


def test_each_source_partition_has_its_own_guard():
    log = with_budget()
    log.send(spend(item(5, "1"), source="usage.events:0"))
    log.send(spend(item(3, "2"), source="usage.events:1"))
    assert log.status()["spent"] == Decimal("3")


def test_unpriced_usage_is_counted_beside_the_spend():
    log = with_budget()
    log.send(spend(item(0, "0", status="unpriced", model="mystery-model")))
    status = log.status()
    assert (status["spent"], status["operations"], status["unpriced_operations"]) == (Decimal(0), 1, 1)


def test_each_threshold_alerts_once_as_spend_crosses_it():
    log = with_budget(limit="10")
    raised = []
    for offset, cost in enumerate(["4", "1", "2", "1", "3", "5"]):
        raised += alerts(log.send(spend(item(offset, cost))))
    assert [a["budget"]["threshold"] for a in raised] == ["50", "80", "100"]
    assert [a["budget"]["spent"] for a in raised] == ["5", "8", "11"]
    assert len({a["alert_id"] for a in raised}) == 3


def test_one_event_can_cross_several_thresholds():
    log = with_budget(limit="10")
    raised = alerts(log.send(spend(item(0, "9"))))
    assert [a["budget"]["threshold"] for a in raised] == ["50", "80"]


def test_a_replayed_spend_command_resends_its_alerts_with_the_same_ids():
    log = with_budget(limit="10")
    command = spend(item(0, "6"))
    first = alerts(log.send(command))
    again = alerts(log.replay(command, log.offset))
    assert again == first and len(first) == 1
    assert log.status()["spent"] == Decimal("6")


def test_only_budgets_whose_scope_applies_count_the_spend():
    log = Log()
    log.send(commands.define(budget(budget_id="amira", scope=BudgetScope(kind=ScopeKind.USER, value="amira"))))
    log.send(commands.define(budget(budget_id="launch", scope=BudgetScope(
        kind=ScopeKind.ATTRIBUTE, attribute="project", value="launch", model="veo-3.0-generate"))))
    log.send(spend(item(0, "1", user_id="amira"), item(1, "2", user_id="omar"),
                   item(2, "4", attributes={"project": "launch"}, model="veo-3.0-generate", service="video"),
                   item(3, "8", attributes={"project": "launch"})))
    assert log.status("amira")["spent"] == Decimal("1")
    assert log.status("launch")["spent"] == Decimal("4")


def test_a_reservation_is_granted_while_it_fits_and_refused_after():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    log.send(spend(item(0, "6")))
    granted = reply(log.send(reserve("3")))
    refused = reply(log.send(reserve("2")))
    assert granted["granted"] is True and granted["budgets"] == ["b1"]
    assert refused["granted"] is False
    assert refused["refused_by"][0] | {"budget_id": "b1"} == refused["refused_by"][0]
    assert refused["refused_by"][0]["remaining"] == "1"
    assert (log.status()["reserved"], log.status()["remaining"]) == (Decimal("3"), Decimal("1"))


def test_a_notify_budget_holds_but_never_refuses():
    log = with_budget(limit="1")
    answer = reply(log.send(reserve("5")))
    assert answer["granted"] is True
    assert log.status()["remaining"] == Decimal("-4")


def test_settling_releases_the_hold_and_counts_the_actual_cost():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    granted = reply(log.send(reserve("3")))
    log.send(spend(item(0, "2.5", reservation_id=granted["reservation_id"])))
    status = log.status()
    assert (status["spent"], status["reserved"], status["remaining"]) == (Decimal("2.5"), 0, Decimal("7.5"))
    assert hold_key(TENANT, granted["reservation_id"]) not in log.table
    assert log.table[tenant_key(TENANT)]["open_holds"] == 0
    assert log.table[tenant_key(TENANT)]["settled"] == 1


def test_an_unknown_reservation_id_is_counted_as_a_mismatch_and_the_usage_still_counts():
    log = with_budget()
    log.send(spend(item(0, "1", reservation_id="rsv_nope")))
    assert log.status()["spent"] == Decimal("1")
    assert log.table[tenant_key(TENANT)]["mismatches"] == {"unknown": 1, "expired": 0}


def test_an_expired_hold_is_released_and_its_late_settlement_is_a_mismatch():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    granted = reply(log.send(reserve("9", ttl=timedelta(minutes=1))))
    log.send(commands.expire(TENANT, [granted["reservation_id"]], at=NOW + timedelta(seconds=30)))
    assert log.status()["reserved"] == Decimal("9")  # not yet due
    log.send(commands.expire(TENANT, [granted["reservation_id"]], at=NOW + timedelta(minutes=2)))
    assert log.status()["reserved"] == 0
    log.send(spend(item(0, "1", reservation_id=granted["reservation_id"]), at=NOW + timedelta(minutes=3)))
    state = log.table[tenant_key(TENANT)]
    assert (state["expired"], state["mismatches"]["expired"]) == (1, 1)


def test_asking_again_for_the_same_reservation_gets_the_same_hold():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    command = reserve("6")
    first = reply(log.send(command))
    second = reply(log.send(command))  # the sender's answer was lost; it sent the command again
    assert first == second and log.status()["reserved"] == Decimal("6")


def test_a_replayed_reservation_is_answered_again_and_not_held_twice():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    command = reserve("6")
    first = reply(log.send(command))
    again = reply(log.replay(command, log.offset))
    assert first == again and log.status()["reserved"] == Decimal("6")


def test_released_reservations_free_their_hold():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    granted = reply(log.send(reserve("6")))
    assert reply(log.send(commands.release(TENANT, granted["reservation_id"])))["ok"] is True
    assert log.status()["reserved"] == 0


def test_raising_the_limit_lets_a_threshold_alert_again_under_the_new_revision():
    log = with_budget(limit="10")
    [first] = alerts(log.send(spend(item(0, "6"))))
    log.send(commands.define(budget(limit="20")))
    assert alerts(log.send(spend(item(1, "1")))) == []
    [second] = alerts(log.send(spend(item(2, "4"))))
    assert second["budget"]["threshold"] == "50" and second["alert_id"] != first["alert_id"]


def test_a_new_period_starts_from_zero_and_alerts_anew():
    log = with_budget(limit="10", period=BudgetPeriod.DAY)
    [today] = alerts(log.send(spend(item(0, "5"))))
    [tomorrow] = alerts(log.send(spend(item(1, "5", occurred_at=NOW + timedelta(days=1)))))
    assert today["alert_id"] != tomorrow["alert_id"]


def test_deleting_a_budget_stops_its_counting():
    log = with_budget()
    assert reply(log.send(commands.delete(TENANT, "b1")))["ok"] is True
    log.send(spend(item(0, "5")))
    assert log.table[tenant_key(TENANT)]["budgets"] == {}


def test_a_forecast_alert_says_when_the_month_runs_out_at_its_rate_so_far():
    log = with_budget(limit="31")
    tenth_day = NOW.replace(day=11, hour=0)  # 10 of 31 days gone
    raised = alerts(log.send(spend(item(0, "14", occurred_at=tenth_day), at=tenth_day)))
    forecast = [a for a in raised if a["kind"] == "budget.forecast"]
    assert [a["budget"]["runs_out_at"][:10] for a in forecast] == ["2026-12-23"]  # 10 days × 31/14 = 22.14 days
    assert alerts(log.send(spend(item(1, "1", occurred_at=tenth_day), at=tenth_day))) == []


def test_a_large_batch_of_one_tenants_spend_is_sent_in_commands_that_fit_a_kafka_message():
    from meterstream.budgets.commands import MAX_SPEND_ITEMS, spend_commands
    from meterstream.pricing import Pricer, load_catalog
    from tests.unit.stream.test_processor import image_event

    priced = Pricer(load_catalog()).price(image_event())
    sent = spend_commands([(priced, "usage.routed:0|usage.events:1", offset, None) for offset in range(2500)])
    assert [len(c["items"]) for c in sent] == [MAX_SPEND_ITEMS, MAX_SPEND_ITEMS, 500]
    assert [i["offset"] for c in sent for i in c["items"]] == list(range(2500))


def test_a_full_spend_command_with_attributes_passes_the_worker_s_producer_limit():
    import orjson

    from meterstream.budgets.commands import MAX_SPEND_ITEMS, spend_commands
    from meterstream.pricing import Pricer, load_catalog
    from meterstream.settings import Settings
    from meterstream.stream.faust_app import app_config
    from tests.unit.stream.test_processor import image_event

    event = image_event().model_copy(update={"attributes": {f"attribute_{n}": "x" * 40 for n in range(16)}})
    priced = Pricer(load_catalog()).price(event)
    [command] = spend_commands([(priced, "usage.routed:0|usage.events:1", offset, None)
                                for offset in range(MAX_SPEND_ITEMS)])
    assert 1024 * 1024 < len(orjson.dumps(command)) <= app_config(Settings())["producer_max_request_size"]


def test_a_tenant_at_its_open_holds_limit_is_refused_until_one_is_released():
    log = with_budget(action=BudgetAction.BLOCK, limit=Decimal(100))
    log.ledger.max_open_holds = 2
    first, _ = (reply(log.send(reserve("1"))) for _ in range(2))
    refused = reply(log.send(reserve("1")))
    assert (refused["granted"], refused["refused_by"], refused["open_holds"]) == (False, [], 2)
    assert "2 open reservations" in too_many_holds(refused)
    log.send(commands.release(TENANT, first["reservation_id"]))
    assert reply(log.send(reserve("1")))["granted"] is True


def test_a_refusal_by_a_budget_is_not_taken_for_too_many_holds():
    log = with_budget(action=BudgetAction.BLOCK, limit=Decimal(1))
    refused = reply(log.send(reserve("2")))
    assert refused["granted"] is False and too_many_holds(refused) is None


def test_a_hold_has_an_entry_of_its_own_and_the_tenant_entry_counts_it():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    granted = reply(log.send(reserve("3")))
    assert log.table[hold_key(TENANT, granted["reservation_id"])]["amount"] == "3"
    assert log.table[tenant_key(TENANT)]["open_holds"] == 1


def test_a_tenant_entry_from_before_holds_had_keys_moves_them_out_at_its_next_command():
    log = with_budget(limit="10", action=BudgetAction.BLOCK)
    granted = reply(log.send(reserve("3")))
    state = log.table[tenant_key(TENANT)]
    old = {granted["reservation_id"]: log.table.pop(hold_key(TENANT, granted["reservation_id"]))}
    state["holds"] = old
    del state["open_holds"]
    log.send(commands.release(TENANT, granted["reservation_id"]))
    assert log.status()["reserved"] == 0 and log.table[tenant_key(TENANT)]["open_holds"] == 0
    assert "holds" not in log.table[tenant_key(TENANT)]
