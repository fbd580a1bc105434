"""Who is calling: the tenant behind `Authorization: Bearer <API key>`, or a portal token's grant.

An API key may do everything its tenant may. A portal token (tokens.py) only reads one
session's stats, summary and push stream (`SessionReaderDep`); everywhere else it answers 403.
Requests with a body are authenticated before the body is read (guard.py), which leaves the
caller in the request's state for the dependency here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from meterstream.api.errors import Forbidden, Unauthorized
from meterstream.api.routes.common import SessionIdPath
from meterstream.api.services import Services, ServicesDep
from meterstream.api.tokens import PortalGrant, is_portal_token, verify

bearer = HTTPBearer(auto_error=False, description="An API key made with `meterstream keys create`, or (read-only, "
                                                  "one session's stats, summary and events) a portal token.")

READ_ONLY = ("this is a portal token: it only reads its session's stats, summary and events "
             "(GET /v1/sessions/{id}/stats, /summary, /events); use an API key from the app's backend")


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    key_id: str


def authenticate_key(services: Services, token: str) -> Caller:
    """The caller behind an API key; Forbidden for a portal token. Blocking (may catch up with Kafka)."""
    if is_portal_token(token):
        raise Forbidden(READ_ONLY)
    key = services.store.authenticate(token)
    return Caller(tenant_id=key.tenant_id, key_id=key.key_id)


async def authenticated(services: Services, token: str) -> Caller:
    """`authenticate_key` on the event loop when this process knows the key (a dict lookup and a
    hash), in a thread only when it must catch up with the keys topic first."""
    if is_portal_token(token):
        raise Forbidden(READ_ONLY)
    key = services.store.authenticate_known(token)
    if key is None:
        return await run_in_threadpool(authenticate_key, services, token)
    return Caller(tenant_id=key.tenant_id, key_id=key.key_id)


def authenticate_portal(services: Services, token: str) -> PortalGrant:
    """The grant of a portal token: genuine, unexpired, and minted by a key that is not revoked."""
    grant = verify(token, services.portal_secrets, time.time())
    if services.store.key_revoked(grant.key_id):
        raise Unauthorized(f"portal token minted by API key {grant.key_id}, which is revoked, expired or unknown")
    return grant


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    return credentials.credentials


async def caller(
    request: Request, services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    checked: Any = getattr(request.state, "caller", None)  # by the guard, before the body was read
    if isinstance(checked, Caller):
        return checked
    found = await authenticated(services, _token(credentials))
    request.state.tenant_id = found.tenant_id  # for the access log
    return found


CallerDep = Annotated[Caller, Depends(caller)]


@dataclass(frozen=True)
class SessionReader:
    """Who reads a session: an API key's caller, or a portal token allowed to read this session."""

    tenant_id: str
    grant: PortalGrant | None = None


async def session_reader(
    request: Request, session_id: SessionIdPath, services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> SessionReader:
    token = _token(credentials)
    if not is_portal_token(token):
        found = await authenticated(services, token)
        request.state.tenant_id = found.tenant_id
        return SessionReader(found.tenant_id)
    grant = await run_in_threadpool(authenticate_portal, services, token)
    request.state.tenant_id = grant.tenant_id
    if grant.session_id is None:  # a user's token: the session must be that user's
        record = await run_in_threadpool(services.store.get_session, grant.tenant_id, session_id)
        user = record.user_id if record is not None else None
    else:
        user = None
    if not grant.allows(session_id, user):
        scope = f"session {grant.session_id}" if grant.session_id else f"the sessions of user {grant.user_id}"
        raise Forbidden(f"this portal token reads {scope} only")
    return SessionReader(grant.tenant_id, grant)


SessionReaderDep = Annotated[SessionReader, Depends(session_reader)]
