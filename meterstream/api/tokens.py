"""Portal tokens: short-lived, read-only credentials for one session (or one user), for browsers.

The embeddable tracker runs in end users' browsers; an API key there would read and write all
its tenant has. An app's backend instead mints a portal token with its key
(`POST /v1/sessions/{id}/tokens`) and hands that to the tracker. The token is checked with no
lookup beyond memory: it carries its claims and an HMAC-SHA256 over them, and names the signing
secret by id (`kid`) so secrets can coexist (several hosts, a rotation).

    mpt_<base64url(JSON claims)>.<base64url(HMAC-SHA256(secret, "mpt_" + claims part))>

Claims: `kid`, `tenant`, `session` (None for a user token), `user` (None for a session token),
`key` (the API key that minted it: revoking that key ends its tokens too), `exp` (Unix seconds).

Pure: no I/O. Where the secrets come from is `TokenSecrets` (token_secrets.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

from meterstream.api.errors import Unauthorized

TOKEN_PREFIX = "mpt_"

Scope = Literal["session", "user"]


@dataclass(frozen=True)
class PortalGrant:
    """What a valid portal token allows: reading one session, or the sessions of one user."""

    tenant_id: str
    session_id: str | None
    user_id: str | None
    key_id: str
    expires_at: int

    def allows(self, session_id: str, session_user: str | None) -> bool:
        if self.session_id is not None:
            return session_id == self.session_id
        return self.user_id is not None and session_user == self.user_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, claims_part: str) -> str:
    return _b64(hmac.new(secret, (TOKEN_PREFIX + claims_part).encode(), hashlib.sha256).digest())


def is_portal_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def mint(secret: bytes, kid: str, grant: PortalGrant) -> str:
    claims = {"kid": kid, "tenant": grant.tenant_id, "session": grant.session_id, "user": grant.user_id,
              "key": grant.key_id, "exp": grant.expires_at}
    claims_part = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{TOKEN_PREFIX}{claims_part}.{_signature(secret, claims_part)}"


def verify(token: str, secret_for: dict[str, bytes] | object, now: float) -> PortalGrant:
    """The grant of a genuine, unexpired token; Unauthorized otherwise.

    `secret_for` maps a `kid` to its secret (anything with `.get(kid)`)."""
    if not is_portal_token(token):
        raise Unauthorized("not a portal token")
    claims_part, dot, signature = token[len(TOKEN_PREFIX):].partition(".")
    try:
        claims = json.loads(_unb64(claims_part)) if dot else None
    except (ValueError, UnicodeDecodeError):
        claims = None
    if not isinstance(claims, dict) or not isinstance(claims.get("kid"), str):
        raise Unauthorized("malformed portal token")
    secret = secret_for.get(claims["kid"])  # type: ignore[attr-defined]
    if secret is None:
        raise Unauthorized("portal token signed with an unknown secret")
    if not hmac.compare_digest(signature, _signature(secret, claims_part)):
        raise Unauthorized("portal token signature does not match")
    try:
        grant = PortalGrant(tenant_id=str(claims["tenant"]), session_id=claims["session"], user_id=claims["user"],
                            key_id=str(claims["key"]), expires_at=int(claims["exp"]))
    except (KeyError, TypeError, ValueError):
        raise Unauthorized("malformed portal token") from None
    if now >= grant.expires_at:
        raise Unauthorized("portal token expired: ask the app for a new one")
    return grant
