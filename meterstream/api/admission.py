"""Deciding the sessions of concurrent usage requests together.

Each `POST /v1/usage` must know its session before it is sent: started implicitly if new (a
claim written to the sessions topic and read back), refused if ended or another tenant's, and
decided after catching up with the session's partition (store.py). One store call per request
cost a thread and a round trip each. Here requests that arrive while a decision is under way
wait for the next one, which decides them all in one `sessions_for_usage` call per tenant (one
catch-up, the new sessions claimed together). Each decision still begins after its request
arrived, so what the store promises per request holds.
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool

from meterstream.api.errors import ApiError
from meterstream.api.store import ApiStore, SessionRecord

Waiting = tuple[str, str, str | None, "asyncio.Future[SessionRecord | ApiError]"]  # tenant, session, user


class SessionAdmission:
    def __init__(self, store: ApiStore) -> None:
        self.store = store
        self._waiting: list[Waiting] = []
        self._deciding: asyncio.Task[None] | None = None

    async def admit(self, tenant_id: str, session_id: str, user_id: str | None) -> SessionRecord:
        """`store.session_for_usage`, decided with the requests waiting beside this one."""
        future: asyncio.Future[SessionRecord | ApiError] = asyncio.get_running_loop().create_future()
        self._waiting.append((tenant_id, session_id, user_id, future))
        if self._deciding is None:
            self._deciding = asyncio.create_task(self._decide_all())
        found = await future
        if isinstance(found, ApiError):
            raise found
        return found

    async def _decide_all(self) -> None:
        try:
            while self._waiting:
                taken, self._waiting = self._waiting, []
                by_tenant: dict[str, list[Waiting]] = {}
                for waiting in taken:
                    by_tenant.setdefault(waiting[0], []).append(waiting)
                await asyncio.gather(*(self._decide(tenant, group) for tenant, group in by_tenant.items()))
        finally:
            self._deciding = None

    async def _decide(self, tenant_id: str, group: list[Waiting]) -> None:
        users: dict[str, str | None] = {}
        for _, session_id, user_id, _ in group:
            users.setdefault(session_id, user_id)  # the first request of a new session names its user
        try:
            found = await run_in_threadpool(self.store.sessions_for_usage, tenant_id, users)
        except Exception as error:  # noqa: BLE001 - each waiting request raises it (e.g. Kafka unavailable)
            for *_, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        for _, session_id, _, future in group:
            if not future.done():  # a request whose client went away is cancelled
                future.set_result(found[session_id])
