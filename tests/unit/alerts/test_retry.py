"""The retry policy and the meaning of a webhook try's result (meterstream/alerts/retry.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterstream.alerts.retry import Outcome, RetryPolicy, TryResult, classify, decide

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
POLICY = RetryPolicy(base=1.0, cap=600.0, max_age=86_400.0)


@pytest.mark.parametrize("code", [200, 201, 204, 299])
def test_a_2xx_answer_is_delivered(code: int) -> None:
    assert classify(TryResult(status_code=code)).outcome is Outcome.DELIVERED


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_a_final_failure_because_redirects_are_not_followed(code: int) -> None:
    verdict = classify(TryResult(status_code=code))
    assert verdict.outcome is Outcome.FAILED
    assert "redirects are not followed" in (verdict.reason or "")


@pytest.mark.parametrize("code", [400, 401, 404, 410, 429, 499])
def test_a_4xx_answer_is_final(code: int) -> None:
    assert classify(TryResult(status_code=code)).outcome is Outcome.FAILED


@pytest.mark.parametrize("result", [TryResult(status_code=500), TryResult(status_code=503),
                                    TryResult(error="timeout: no answer within 10 s"),
                                    TryResult(error="connection error: ConnectError")])
def test_server_errors_timeouts_and_connection_errors_are_retried(result: TryResult) -> None:
    assert classify(result).outcome is Outcome.RETRY


def test_the_ceiling_doubles_from_the_base_and_stops_at_the_cap() -> None:
    ceilings = [POLICY.ceiling(n) for n in range(1, 14)]
    assert ceilings[:4] == [1.0, 2.0, 4.0, 8.0]
    assert ceilings[-1] == 600.0
    assert ceilings == sorted(ceilings)
    assert POLICY.ceiling(10_000) == 600.0


def test_waits_are_jittered_rather_than_all_equal() -> None:
    rng = random.Random(7)
    waits = {POLICY.wait(5, rng) for _ in range(50)}
    assert len(waits) > 40


@given(tries=st.integers(min_value=1, max_value=500), seed=st.integers(), base=st.floats(0.001, 10),
       cap_factor=st.floats(1, 10_000))
def test_a_wait_is_never_negative_never_above_its_ceiling_and_never_above_the_cap(
        tries: int, seed: int, base: float, cap_factor: float) -> None:
    policy = RetryPolicy(base=base, cap=base * cap_factor, max_age=86_400)
    wait = policy.wait(tries, random.Random(seed))
    assert 0.0 <= wait <= policy.ceiling(tries) <= policy.cap


@given(tries=st.integers(min_value=1, max_value=200), elapsed=st.floats(0, 200_000), seed=st.integers())
def test_the_next_try_is_never_after_max_age_and_none_once_it_has_passed(tries: int, elapsed: float, seed: int) -> None:
    now = T0 + timedelta(seconds=elapsed)
    at = POLICY.next_try_at(T0, tries, now, random.Random(seed))
    deadline = T0 + timedelta(seconds=POLICY.max_age)
    if now >= deadline:
        assert at is None
    else:
        assert at is not None and now <= at <= deadline


def test_a_retryable_failure_schedules_the_next_try_and_keeps_the_delivery_pending() -> None:
    decision = decide(TryResult(status_code=503), POLICY, T0, tries=3, now=T0 + timedelta(seconds=10),
                      rng=random.Random(1))
    assert decision.status == "pending" and decision.outcome is Outcome.RETRY
    assert T0 + timedelta(seconds=10) <= decision.next_try_at <= T0 + timedelta(seconds=14)
    assert decision.reason == "HTTP 503"


def test_a_retryable_failure_after_max_age_fails_for_good() -> None:
    decision = decide(TryResult(error="timeout"), POLICY, T0, tries=80, now=T0 + timedelta(hours=24, seconds=1))
    assert decision.status == "failed" and decision.next_try_at is None
    assert "gave up after 24 h" in (decision.reason or "")


def test_a_4xx_fails_at_once_however_young_the_delivery() -> None:
    decision = decide(TryResult(status_code=410), POLICY, T0, tries=1, now=T0)
    assert decision.status == "failed" and decision.next_try_at is None


def test_a_policy_with_a_cap_below_its_base_is_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(base=10, cap=1)
