"""Who is calling: the tenant behind the request's `Authorization: Bearer <API key>`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from meterstream.api.errors import Unauthorized
from meterstream.api.services import ServicesDep

bearer = HTTPBearer(auto_error=False, description="An API key made with `meterstream keys create`.")


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    key_id: str


async def caller(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    if credentials is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    key = await run_in_threadpool(services.store.authenticate, credentials.credentials)
    return Caller(tenant_id=key.tenant_id, key_id=key.key_id)


CallerDep = Annotated[Caller, Depends(caller)]
