"""SessionAdmission: concurrent requests' sessions decided together, each answered as if alone."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

from meterstream.api.admission import SessionAdmission
from meterstream.api.errors import SessionEnded, SessionOfAnotherTenant
from meterstream.api.records import SessionRecord
from meterstream.errors import InfrastructureUnavailable

ENDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


class SlowStore:
    """sessions_for_usage as the store decides it, over a dict, taking a while (a round trip)."""

    def __init__(self) -> None:
        self.sessions = {"ended": SessionRecord("ended", "acme", ENDED_AT, "explicit", ended_at=ENDED_AT),
                         "theirs": SessionRecord("theirs", "globex", ENDED_AT, "implicit")}
        self.calls: list[tuple[str, dict[str, str | None]]] = []
        self.fail = False
        self.lock = threading.Lock()

    def sessions_for_usage(self, tenant_id: str, users: dict[str, str | None]):
        time.sleep(0.05)
        if self.fail:
            raise InfrastructureUnavailable("no broker")
        with self.lock:
            self.calls.append((tenant_id, dict(users)))
            found = {}
            for session_id, user in users.items():
                record = self.sessions.setdefault(
                    session_id, SessionRecord(session_id, tenant_id, ENDED_AT, "implicit", user_id=user))
                found[session_id] = (SessionOfAnotherTenant(session_id) if record.tenant_id != tenant_id
                                     else SessionEnded(session_id, ENDED_AT) if record.ended_at else record)
            return found


def test_concurrent_requests_share_store_calls_and_each_gets_its_own_answer() -> None:
    store = SlowStore()
    admission = SessionAdmission(store)  # type: ignore[arg-type]
    asks = [("acme", f"s{n % 5}", f"u{n}") for n in range(40)] + [("acme", "ended", None), ("acme", "theirs", None),
                                                                  ("globex", "theirs", None)]

    async def one(tenant: str, session_id: str, user: str | None):
        try:
            return await admission.admit(tenant, session_id, user)
        except (SessionEnded, SessionOfAnotherTenant) as error:
            return type(error)

    async def main():
        return await asyncio.gather(*(one(*ask) for ask in asks))

    answers = asyncio.run(main())
    assert [a.session_id for a in answers[:40]] == [f"s{n % 5}" for n in range(40)]
    assert {a.user_id for a in answers[:40]} == {"u0", "u1", "u2", "u3", "u4"}  # each new session's first request
    assert answers[40:] == [SessionEnded, SessionOfAnotherTenant, answers[42]]
    assert answers[42].tenant_id == "globex"
    assert len(store.calls) <= 4  # 43 requests of two tenants: a first call, then the rest together


def test_a_store_failure_fails_every_request_waiting_on_that_call() -> None:
    store = SlowStore()
    store.fail = True
    admission = SessionAdmission(store)  # type: ignore[arg-type]

    async def main():
        return await asyncio.gather(*(admission.admit("acme", f"s{n}", None) for n in range(5)),
                                    return_exceptions=True)

    assert all(isinstance(answer, InfrastructureUnavailable) for answer in asyncio.run(main()))
