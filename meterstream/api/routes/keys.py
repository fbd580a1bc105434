"""API keys of the caller's tenant: list, create (the full key shown once) and revoke.

The store is the keys topic every host reads (store.py); the CLI's `meterstream keys` writes
the same records. Only an API key may call these: a portal token answers 403 (auth.py). A key
may revoke itself: the answer is its revoked record, and its next request is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status

from meterstream.api.auth import CallerDep
from meterstream.api.errors import ApiError, InvalidRequest
from meterstream.api.key_models import KeyCreate, KeyCreated, KeyList, KeyOut
from meterstream.api.records import now
from meterstream.api.routes.common import blocking, problems
from meterstream.api.services import ServicesDep

router = APIRouter(prefix="/v1/keys", tags=["keys"])

KeyIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]


class KeyNotFound(ApiError):
    """No API key with this id belongs to the caller's tenant."""

    status = 404

    def __init__(self, key_id: str) -> None:
        super().__init__(f"API key {key_id} not found")


@router.get("", responses=problems(403))
async def list_keys(caller: CallerDep, services: ServicesDep) -> KeyList:
    """The tenant's keys, oldest first, revoked and expired ones too (never a secret)."""
    keys = await blocking(services.store.list_keys, caller.tenant_id)
    at = now()
    return KeyList(keys=[KeyOut.of(key, at, caller.key_id) for key in keys])


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(403))
async def create_key(body: KeyCreate, caller: CallerDep, services: ServicesDep) -> KeyCreated:
    """A new key for the tenant, valid until revoked or, with `expires_in_days` or `expires_at`, until then.
    The answer holds the full key, shown this once."""
    created = now()
    if body.expires_in_days is not None and body.expires_at is not None:
        raise InvalidRequest([{"field": "expires_at", "reason": "give expires_in_days or expires_at, not both"}])
    expires_at = body.expires_at
    if body.expires_in_days is not None:
        expires_at = created + timedelta(days=body.expires_in_days)
    elif expires_at is not None and expires_at <= created:
        raise InvalidRequest([{"field": "expires_at", "reason": "must be in the future"}])
    key, record = await blocking(services.store.create_key, caller.tenant_id, body.name, expires_at)
    return KeyCreated(**KeyOut.of(record, created, caller.key_id).model_dump(), key=key)


@router.post("/{key_id}/revoke", responses=problems(403, 404))
async def revoke_key(key_id: KeyIdPath, caller: CallerDep, services: ServicesDep) -> KeyOut:
    """Revoke a key of the tenant: refused from its next request on here, within about a second on every
    other host. Revoking it again keeps the first time. The key making the request may revoke itself."""
    record = await blocking(services.store.revoke_key, key_id, caller.tenant_id)
    if record is None:
        raise KeyNotFound(key_id)
    return KeyOut.of(record, now(), caller.key_id)
