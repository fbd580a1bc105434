"""Live session totals: read from the Faust worker, pushed to subscribers when they change.

Why polling the worker: the worker already holds each session's exact totals and serves
them at `GET /sessions/{id}`. One poller per *watched* session (shared by all of its
subscribers) asks for them every `live_poll_seconds` (0.1 s by default) over loopback and
pushes only when the JSON changed, so a change reaches the browser within about one poll
interval plus the worker's own processing time. It needs no Kafka consumer group per API
replica and costs nothing for sessions no one watches. Changes that land within one
interval are pushed together, as one new set of totals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from meterstream.api.errors import UpstreamUnavailable
from meterstream.schemas import SessionTotals

log = logging.getLogger(__name__)


class WorkerClient:
    """The worker's HTTP view of session totals."""

    def __init__(self, worker_url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> None:
        self.worker_url = worker_url
        self._http = httpx.AsyncClient(base_url=worker_url, timeout=timeout, headers=headers)

    async def _get(self, path: str, what: str) -> bytes | None:
        """The worker's answer at `path`; None for 404 (it has nothing for `what`)."""
        try:
            response = await self._http.get(path)
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(f"the metering worker at {self.worker_url} did not answer: {error!r}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise UpstreamUnavailable(f"the metering worker answered {response.status_code} for {what}")
        return response.content

    async def session_totals_json(self, session_id: str) -> bytes | None:
        """The session's SessionTotals JSON as the worker sent it; None if the worker has none."""
        return await self._get(f"/sessions/{session_id}", f"session {session_id}")

    async def budget_state(self, tenant_id: str) -> dict[str, Any] | None:
        """The tenant's budget state as the worker's ledger holds it; None if it has none."""
        body = await self._get(f"/budgets/{tenant_id}", f"the budgets of {tenant_id}")
        return None if body is None else orjson.loads(body)

    async def tenant_ledger(self, tenant_id: str) -> dict[str, int]:
        """How many of the tenant's messages had each outcome, over every worker's partitions
        (the worker asks the others of its group)."""
        body = await self._get(f"/ledger/{quote(tenant_id, safe='')}", f"the ledger of {tenant_id}")
        return {} if body is None else orjson.loads(body)

    async def session_totals(self, session_id: str) -> SessionTotals | None:
        body = await self.session_totals_json(session_id)
        return None if body is None else SessionTotals.model_validate_json(body)

    async def close(self) -> None:
        await self._http.aclose()


class _Watch:
    """One session's poller and the queues of its subscribers."""

    def __init__(self) -> None:
        self.subscribers: set[asyncio.Queue[SessionTotals | None]] = set()
        self.last: bytes | None = None
        self.polled = False  # `last` holds a real answer (possibly "no totals yet")
        self.task: asyncio.Task[None] | None = None


class LiveHub:
    def __init__(self, worker: WorkerClient, poll_seconds: float) -> None:
        self.worker = worker
        self.poll_seconds = poll_seconds
        self._watches: dict[str, _Watch] = {}

    @property
    def subscriber_count(self) -> int:
        return sum(len(w.subscribers) for w in self._watches.values())

    async def subscribe(self, session_id: str) -> AsyncIterator[SessionTotals | None]:
        """Yield the session's totals now (None if the worker has none yet) and on every change."""
        queue: asyncio.Queue[SessionTotals | None] = asyncio.Queue(maxsize=1)
        watch = self._watches.get(session_id)
        if watch is None:
            watch = self._watches[session_id] = _Watch()
            watch.task = asyncio.create_task(self._poll(session_id, watch), name=f"live:{session_id}")
        elif watch.polled:
            queue.put_nowait(None if watch.last is None else SessionTotals.model_validate_json(watch.last))
        watch.subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            watch.subscribers.discard(queue)
            if not watch.subscribers and self._watches.get(session_id) is watch:
                del self._watches[session_id]
                if watch.task is not None:
                    watch.task.cancel()

    async def _poll(self, session_id: str, watch: _Watch) -> None:
        while True:
            try:
                body = await self.worker.session_totals_json(session_id)
            except UpstreamUnavailable as error:
                log.warning("live totals of %s: %s", session_id, error)
                body = watch.last
            if not watch.polled or body != watch.last:
                watch.polled = True
                watch.last = body
                totals = None if body is None else SessionTotals.model_validate_json(body)
                for queue in list(watch.subscribers):
                    _offer(queue, totals)
            await asyncio.sleep(self.poll_seconds)

    async def close(self) -> None:
        for watch in self._watches.values():
            if watch.task is not None:
                watch.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch.task
        self._watches.clear()


def _offer(queue: asyncio.Queue[SessionTotals | None], totals: SessionTotals | None) -> None:
    """Put the newest totals, replacing any the subscriber has not taken yet."""
    with contextlib.suppress(asyncio.QueueEmpty):
        queue.get_nowait()
    queue.put_nowait(totals)
