"""Sending due webhook deliveries: claim with a lease, sign, POST, record the outcome.

Many tries are in flight at once (asyncio + httpx, at most `concurrency`), each bounded by
`timeout` in total, so a receiver that hangs holds up only its own deliveries. Redirects
are not followed. What a result means and when to try again is `retry.py`'s.

Signed by the Standard Webhooks spec with the `standardwebhooks` package: `webhook-id` is the
alert id on every try (receivers de-duplicate by it), `webhook-timestamp` the time of this
try, `webhook-signature` `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from standardwebhooks.webhooks import Webhook

from meterstream.alerts.metrics import OUTCOME_LABELS, AlertMetrics
from meterstream.alerts.retry import RetryPolicy, TryResult, decide
from meterstream.alerts.store import RESPONSE_BODY_CHARS, AlertStore, Attempt, Claim, Outcome, now
from meterstream.schemas.alerts import AlertRecord

log = logging.getLogger(__name__)

USER_AGENT = "meterstream"


@dataclass(frozen=True)
class DeliveryOptions:
    timeout: float = 10.0  # seconds per try, in total (connect, send, answer)
    concurrency: int = 32  # tries in flight at once
    poll_seconds: float = 0.5  # how often to look for due deliveries when not woken
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def lease_seconds(self) -> float:
        """A claimed delivery stays this sender's for a whole try and then some."""
        return self.timeout + 30.0


def webhook_body(record: AlertRecord) -> bytes:
    return json.dumps(record.webhook_payload(), separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one try."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


async def post_once(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str],
                    timeout: float) -> tuple[TryResult, str]:
    """One POST; its result and the start of the answer's body. Never raises for network trouble."""
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                text = b""
                async for chunk in response.aiter_bytes():
                    text += chunk
                    if len(text) >= 4 * RESPONSE_BODY_CHARS:
                        break
                return TryResult(status_code=response.status_code), text.decode(errors="replace")[:RESPONSE_BODY_CHARS]
    except (TimeoutError, httpx.TimeoutException):
        return TryResult(error=f"timeout: no answer within {timeout:g} s"), ""
    except httpx.HTTPError as error:
        return TryResult(error=f"connection error: {type(error).__name__}: {error}".rstrip(": ")), ""


class DeliveryLoop:
    """Claims due deliveries and sends them until stopped; safe to run in several processes at once."""

    def __init__(self, store: AlertStore, options: DeliveryOptions, metrics: AlertMetrics | None = None,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.options = options
        self.metrics = metrics
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._in_flight: dict[asyncio.Task[None], Claim] = {}

    def wake(self) -> None:
        """Look for due deliveries now (call on the loop's thread)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=self.options.concurrency, max_keepalive_connections=8)
        async with httpx.AsyncClient(follow_redirects=False, limits=limits, trust_env=False,
                                     timeout=self.options.timeout) as client:
            try:
                while not stop.is_set():
                    await self._claim_and_send(client)
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.options.poll_seconds)
                    except TimeoutError:
                        pass
                    self._wake.clear()
            finally:
                await self._abandon()

    async def _claim_and_send(self, client: httpx.AsyncClient) -> None:
        free = self.options.concurrency - len(self._in_flight)
        try:
            claims = await asyncio.to_thread(self.store.claim_due, now(), self.options.lease_seconds, free)
        except Exception:  # noqa: BLE001 - a locked or broken file: try again at the next poll
            log.exception("could not claim due webhook deliveries")
            return
        for claim in claims:
            task = asyncio.create_task(self._deliver(client, claim), name=f"webhook {claim.webhook_id}")
            self._in_flight[task] = claim
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery failed unexpectedly", exc_info=task.exception())
        self._wake.set()  # a slot is free: there may be more due

    async def _deliver(self, client: httpx.AsyncClient, claim: Claim) -> None:
        if claim.body is not None:
            body = claim.body.encode()
        else:
            body = webhook_body(AlertRecord.model_validate_json(claim.record_json))
        at = now()
        headers = signed_headers(claim.secret, claim.alert_id, at, body)
        started = time.perf_counter()
        result, text = await post_once(client, claim.url, body, headers, self.options.timeout)
        duration_ms = round((time.perf_counter() - started) * 1000)
        decision = decide(result, self.options.policy, claim.began_at, claim.attempts + 1, now(), self.rng)
        outcome = Outcome(decision.status, Attempt(at, result.status_code, result.error, duration_ms, text),
                          decision.reason, decision.next_try_at)
        kept = await asyncio.to_thread(self.store.finish, claim, outcome)
        if not kept:
            log.warning("delivery of %s to %s: lease lost before the outcome was written", claim.alert_id,
                        claim.webhook_id)
        if self.metrics is not None:
            self.metrics.deliveries.labels(OUTCOME_LABELS[decision.outcome]).inc()
        log.info("webhook %s alert %s try %d: %s", claim.webhook_id, claim.alert_id, claim.attempts + 1,
                 decision.reason or "delivered")

    async def _abandon(self) -> None:
        """On stop: cancel tries in flight and give their leases back for the next sender."""
        tasks = dict(self._in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            await asyncio.to_thread(self.store.release, tasks.values())
