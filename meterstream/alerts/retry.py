"""What one webhook try's outcome means, and when to try again. Pure: no I/O, no clock.

- 2xx: delivered.
- 3xx: failed for good; redirects are not followed (a receiver that moved must be re-registered).
- 4xx: failed for good; the receiver refused this message.
- 5xx, a timeout or a connection error: try again after an exponential backoff with full
  jitter (a uniform wait in [0, min(cap, base * 2**(tries-1))]), for at most `max_age`
  after the delivery began; the last try is made at that deadline, then it has failed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class TryResult:
    """What came back from one HTTP try: a status code, or an error instead of an answer."""

    status_code: int | None = None
    error: str | None = None  # "timeout: …", "connection: …"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str | None = None  # why it failed or will be retried; None when delivered


def classify(result: TryResult) -> Verdict:
    """The meaning of one try's result, before deadlines are considered."""
    code = result.status_code
    if code is None:
        return Verdict(Outcome.RETRY, result.error or "no answer")
    if 200 <= code < 300:
        return Verdict(Outcome.DELIVERED)
    if 300 <= code < 400:
        return Verdict(Outcome.FAILED, f"HTTP {code}: redirects are not followed")
    if 400 <= code < 500:
        return Verdict(Outcome.FAILED, f"HTTP {code}: refused by the receiver")
    if 500 <= code < 600:
        return Verdict(Outcome.RETRY, f"HTTP {code}")
    return Verdict(Outcome.FAILED, f"HTTP {code}: not a valid status")


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 1.0  # seconds: the first wait is at most this long
    cap: float = 600.0  # seconds: no single wait is longer
    max_age: float = 86_400.0  # seconds after the delivery began: no try after this

    def __post_init__(self) -> None:
        if not (0 < self.base <= self.cap) or self.max_age < 0:
            raise ValueError(f"need 0 < base <= cap and max_age >= 0, got {self}")

    def ceiling(self, tries: int) -> float:
        """The longest wait after the `tries`-th failed try (1-based): base doubling, capped."""
        exponent = min(max(tries, 1) - 1, 64)  # 2**64 * base exceeds any cap; avoids huge floats
        return min(self.cap, self.base * 2.0 ** exponent)

    def wait(self, tries: int, rng: random.Random | None = None) -> float:
        """Full jitter: uniform in [0, ceiling(tries)]."""
        return (rng or random).uniform(0.0, self.ceiling(tries))

    def next_try_at(self, began_at: datetime, tries: int, now: datetime,
                    rng: random.Random | None = None) -> datetime | None:
        """When to try again after `tries` failed tries, or None when the time is up."""
        deadline = began_at + timedelta(seconds=self.max_age)
        if now >= deadline:
            return None
        return min(now + timedelta(seconds=self.wait(tries, rng)), deadline)


@dataclass(frozen=True)
class Decision:
    status: str  # "delivered" | "pending" | "failed": the delivery's state after this try
    outcome: Outcome  # for metrics: delivered, retry (retried) or failed
    reason: str | None
    next_try_at: datetime | None = None


def decide(result: TryResult, policy: RetryPolicy, began_at: datetime, tries: int, now: datetime,
           rng: random.Random | None = None) -> Decision:
    """The delivery's state after its `tries`-th try (counting this one) gave `result`."""
    verdict = classify(result)
    if verdict.outcome is Outcome.DELIVERED:
        return Decision("delivered", Outcome.DELIVERED, None)
    if verdict.outcome is Outcome.FAILED:
        return Decision("failed", Outcome.FAILED, verdict.reason)
    at = policy.next_try_at(began_at, tries, now, rng)
    if at is None:
        hours = policy.max_age / 3600
        return Decision("failed", Outcome.FAILED, f"{verdict.reason}; gave up after {hours:g} h of retries")
    return Decision("pending", Outcome.RETRY, verdict.reason, at)
