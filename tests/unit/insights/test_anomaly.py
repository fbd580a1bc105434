"""The stream's spend-anomaly rule (meterstream/insights/anomaly.py), through the budget ledger
that runs it: each spend item counted once, alerts once per window, sent again on a replay."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from meterstream.budgets.ledger import BudgetLedger, tenant_key
from meterstream.insights import anomaly
from tests.unit.budgets.builders import NOW, TENANT, item, spend

HOUR = timedelta(hours=1)


class Feed:
    """One tenant's spend, one command per call, at increasing offsets."""

    def __init__(self) -> None:
        self.ledger, self.offset = BudgetLedger({}), 0

    def send(self, *costs_at, user="ana", model="gemini-2.5-flash", service="text") -> list[dict]:
        items = []
        for cost, at in costs_at:
            self.offset += 1
            items.append(item(self.offset, cost, occurred_at=at, user_id=user, model=model, service=service))
        command = spend(*items, at=costs_at[-1][1])
        return [o.value for o in self.ledger.apply(command, 0, self.offset) if o.kind == "alert"]

    def usual_hours(self, hours: int, cost: str = "1.00") -> None:
        for hour in range(hours):
            assert self.send((cost, NOW + hour * HOUR)) == []

    @property
    def state(self) -> dict:
        return self.ledger.table[tenant_key(TENANT)]["anomaly"]


def test_the_first_hour_has_no_baseline_and_raises_nothing():
    assert Feed().send(("1000", NOW)) == []


def test_on_the_first_day_a_spike_far_above_the_few_hours_seen_is_raised():
    feed = Feed()
    feed.usual_hours(3)
    [alert] = feed.send(("20.00", NOW + 3 * HOUR))
    assert (alert["kind"], alert["anomaly"]["series"], alert["anomaly"]["history_hours"]) == ("anomaly.spend",
                                                                                            "tenant", 3)


def test_the_band_is_wide_with_little_history_and_narrows_as_it_grows():
    feed = Feed()
    feed.usual_hours(3)
    # 3 × usual, spread over the hour, after 3 hours: still within the band
    assert feed.send(*[("0.25", NOW + 3 * HOUR + timedelta(minutes=5 * n)) for n in range(12)]) == []
    _, early = anomaly.band([10**12] * 3, 3)
    _, later = anomaly.band([10**12] * 21, 168)
    assert later < early
    # with a week of steady history 3 × usual is unusual
    week = Feed()
    week.usual_hours(170)
    # (one alert: the tenant's hour, which names the one series as its driver)
    assert [a["anomaly"]["series"] for a in week.send(("3.00", NOW + 170 * HOUR))] == ["tenant"]


def test_an_anomaly_is_raised_once_per_window_with_a_deterministic_id():
    feed = Feed()
    feed.usual_hours(30)
    at = NOW + 30 * HOUR
    first = feed.send(("9.00", at))
    assert len(first) == 1
    assert feed.send(("9.00", at + timedelta(minutes=20))) == []  # the same hour goes on: nothing new
    again = Feed()
    again.usual_hours(30)
    assert [a["alert_id"] for a in again.send(("9.00", at))] == [a["alert_id"] for a in first]


def test_the_alert_says_which_user_model_and_service_drove_it():
    feed = Feed()
    for hour in range(30):
        feed.send(("0.50", NOW + hour * HOUR))
        feed.send(("0.50", NOW + hour * HOUR), user="ben", model="imagen-4.0-generate", service="image")
    alerts = feed.send(("12.00", NOW + 30 * HOUR), user="ben", model="imagen-4.0-generate", service="image")
    tenant = next(a for a in alerts if a["anomaly"]["series"] == "tenant")
    driver = tenant["anomaly"]["drivers"][0]
    assert (driver["user_id"], driver["model"], driver["service"], Decimal(driver["spent"])) == (
        "ben", "imagen-4.0-generate", "image", Decimal("12.00"))
    assert "driven by ben on imagen-4.0-generate (image)" in tenant["title"]


def test_a_new_model_spending_a_large_share_of_the_usual_hour_is_raised():
    feed = Feed()
    feed.usual_hours(48, "2.00")
    alerts = feed.send(("1.50", NOW + 48 * HOUR), user="ben", model="gemini-2.5-pro")
    assert [(a["anomaly"]["series"], a["anomaly"]["drivers"][0]["model"]) for a in alerts] == [
        ("user_model", "gemini-2.5-pro")]


def test_a_burst_within_five_minutes_is_raised_as_a_burst():
    feed = Feed()
    feed.usual_hours(48, "2.00")
    alerts = feed.send(*[("1.00", NOW + 48 * HOUR + timedelta(minutes=1, seconds=n)) for n in range(4)])
    assert {a["kind"] for a in alerts} >= {"anomaly.burst"}
    assert next(a for a in alerts if a["kind"] == "anomaly.burst")["anomaly"]["window_minutes"] == 5


def test_a_replayed_spend_command_sends_the_same_alert_again_and_counts_nothing_twice():
    feed = Feed()
    feed.usual_hours(30)
    feed.offset += 1
    command = spend(item(feed.offset, "9.00", occurred_at=NOW + 30 * HOUR, user_id="ana"), at=NOW + 30 * HOUR)
    first = [o.value for o in feed.ledger.apply(command, 0, feed.offset)]
    spent = feed.state["cur"]
    replay = [o.value for o in feed.ledger.apply(command, 0, feed.offset)]
    assert replay == first and first
    assert feed.state["cur"] == spent


def test_a_late_event_counts_in_its_own_hour_and_raises_nothing():
    feed = Feed()
    feed.usual_hours(30)
    assert feed.send(("50.00", NOW + 2 * HOUR)) == []
    assert feed.state["hist"][2] == 51 * 10**12


def test_the_state_stays_bounded_whatever_the_number_of_users_and_hours():
    feed = Feed()
    for hour in range(400):
        feed.send(*[("0.10", NOW + hour * HOUR)], user=f"user-{hour % 50}")
    state = feed.state
    assert len(state["hist"]) == anomaly.RING_HOURS
    assert len(state["series"]) <= anomaly.TOP_SERIES
    assert all(len(s["hist"]) <= anomaly.SERIES_HOURS for s in state["series"].values())
    assert len(state["sent"]) <= anomaly.KEEP_SENT
    assert len(json.dumps(state)) < 12_000


def test_unpriced_and_free_usage_is_no_spend():
    feed = Feed()
    feed.usual_hours(30)
    assert feed.send(("0", NOW + 30 * HOUR)) == []
