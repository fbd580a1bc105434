"""Every event counted exactly once through crashes, restarts, outages, duplicates and bad input.

Each scenario streams CHAOS_EVENTS events (10% sent twice, 2% malformed) while it injects
its faults, then checks the live totals, ClickHouse and the DLQ against what was sent,
and runs `meterstream reconcile`.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from meterstream.devstack import KafkaBroker
from meterstream.schemas.alerts import AlertKind
from tests.chaos.conftest import CHAOS_EVENTS
from tests.chaos.harness import ChaosRun, spaced
from tests.expectations import expectations
from tests.integration.dlq import read_dead_letters

pytestmark = pytest.mark.chaos
STREAM_SECONDS = max(40.0, CHAOS_EVENTS / 500)


def assert_exactly_once(chaos: ChaosRun) -> None:
    chaos.wait_settled(timeout=300 + CHAOS_EVENTS / 100)
    expected = expectations(chaos.sent.events)

    for session_id, want in expected.items():
        live = chaos.session(session_id)
        assert Decimal(live["total_cost"]) == want.cost, (session_id, chaos.applied_twice(session_id))
        assert live["operations"] == want.operations, session_id
        assert (live["images"], Decimal(live["video_seconds"]), live["characters"]) == (
            want.images, want.video_seconds, want.characters)

    chaos.pause_supervision()
    chaos.sink.stop()
    report = chaos.cli("report", "--group-by", "session_id", "--json")
    assert report.returncode == 0, report.stderr
    stored = {row["session_id"]: row for row in json.loads(report.stdout)}
    assert set(stored) == set(expected)
    for session_id, want in expected.items():
        row = stored[session_id]
        assert Decimal(row["cost"]) == want.cost, session_id
        assert row["operations"] == want.operations, session_id
        assert (row["input_tokens"], row["output_tokens"]) == (want.input_tokens, want.output_tokens)
        assert (row["images"], Decimal(row["video_seconds"]), row["characters"]) == (
            want.images, want.video_seconds, want.characters)

    for tenant_id, limit in chaos.budget_limits.items():
        figures = chaos.budget_figures(tenant_id)
        assert (figures["spent"], figures["reserved"]) == (limit, 0), tenant_id
        assert figures["operations"] == sum(e.operations for e in expected.values())
        assert figures["thresholds_crossed"] == [50, 80, 100]
    # A replay may raise an alert again (same id). The stream may also raise spend anomalies
    # (insights); the budget check is about the threshold alerts.
    alerts = {alert["alert_id"]: alert for alert in chaos.alerts() if alert["kind"] == AlertKind.BUDGET_THRESHOLD}
    assert sorted((a["tenant_id"], Decimal(a["budget"]["threshold"])) for a in alerts.values()) == sorted(
        (tenant_id, Decimal(t)) for tenant_id in chaos.budget_limits for t in (50, 80, 100))

    dead = read_dead_letters(chaos.settings)
    # a replay may repeat one; the events of an envelope share its source position
    by_position = {(record.source, record.index): record.value or b"" for record in dead}
    assert sorted(by_position.values()) == sorted(chaos.sent.malformed)

    reconciled = chaos.cli("reconcile", *(f"--worker-url={url}" for url in chaos.worker_urls))
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert reconciled.stdout.startswith("consistent:"), reconciled.stdout
    print(f"\n{len(chaos.sent.events)} events sent ({len(chaos.sent.events) - sum(e.operations for e in expected.values())}"
          f" duplicates), {len(chaos.sent.malformed)} malformed; faults: {chaos.faults}; {reconciled.stdout.strip()}")


def test_random_kill_9_rounds_of_the_worker_and_the_sink(chaos: ChaosRun):
    # A third of the events in envelopes from a plain producer (with malformed items, and some
    # envelopes re-sent), the rest in the emitter's: a kill -9 lands in the middle of envelopes.
    stream = chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS, plain_share=0.3, envelopes=True)

    def kill(part):
        def action():
            part.kill()
            chaos.faults.append(f"kill -9 {part.command}")
        return action

    rounds = [kill(chaos.worker), kill(chaos.sink)] * 6
    spaced(rounds, gap=STREAM_SECONDS / len(rounds), rng=chaos.rng)
    stream.join()
    assert len(chaos.faults) == 12
    assert_exactly_once(chaos)


@pytest.mark.parametrize("component,points", [
    ("worker", ["worker.before_process", "worker.after_state", "worker.after_send"]),
    # The budget owner is the worker's child: a crash there takes the worker down with its code.
    ("worker", ["budgets.after_apply", "budgets.after_send", "budgets.after_commit"]),
    ("sink", ["sink.before_insert", "sink.after_insert", "sink.after_commit"]),
], ids=["worker", "budget-owner", "sink"])
def test_a_crash_at_each_failpoint(chaos: ChaosRun, component, points):
    stream = chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS)
    part = getattr(chaos, component)
    time.sleep(5)
    for point in points * 2:
        assert chaos.crash_at(part, point), f"{component} never reached {point}"
        time.sleep(2)
    stream.join()
    assert_exactly_once(chaos)


def test_a_broker_restart_and_a_clickhouse_outage_during_the_stream(chaos: ChaosRun, chaos_broker: KafkaBroker):
    stream = chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS)
    time.sleep(STREAM_SECONDS / 4)
    chaos.with_failpoints(chaos.sink, "sink.insert=error*6")  # inserts fail for ~12 s, then pass
    time.sleep(STREAM_SECONDS / 4)
    chaos_broker.stop()
    chaos.faults.append("broker stopped")
    time.sleep(5)
    chaos_broker.start()
    chaos.faults.append("broker started")
    stream.join()
    assert_exactly_once(chaos)


def test_rebalances_across_two_workers(chaos: ChaosRun):
    stream = chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS)
    time.sleep(STREAM_SECONDS / 5)
    second = chaos.add_worker()  # partitions split between two workers
    time.sleep(STREAM_SECONDS / 5)
    chaos.worker.kill()  # the first dies: the second takes everything, the first comes back
    chaos.faults.append("kill -9 worker")
    time.sleep(STREAM_SECONDS / 5)
    second.kill()
    chaos.faults.append(f"kill -9 {second.name}")
    stream.join()
    assert_exactly_once(chaos)
