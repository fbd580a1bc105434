"""Who may read the worker's HTTP endpoints: every tenant's totals, ledger and budgets are there.

Bound to loopback (the default) only this machine reaches them. Bound anywhere else
(`METERSTREAM_WORKER_HOST=0.0.0.0` in a container) the worker refuses to start without
`METERSTREAM_WORKER_TOKEN`, and with a token every request, Faust's own pages included, must
carry `Authorization: Bearer <token>` (401 otherwise). The API, the CLI and the workers that
forward a request to a partition's owner send it (Settings.worker_headers).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

import faust
from aiohttp import web

from meterstream.errors import MeterstreamError
from meterstream.settings import Settings


class WorkerTokenMissing(MeterstreamError):
    """The worker's HTTP endpoints would be open to the network without a token."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def required_token(settings: Settings) -> str | None:
    """The token every request must carry, None when none is needed; raises when one is missing."""
    token = settings.worker_token.get_secret_value() if settings.worker_token else ""
    if not token and not is_loopback(settings.worker_host):
        raise WorkerTokenMissing(
            f"the worker's HTTP endpoints would listen on {settings.worker_host}:{settings.worker_port} with no "
            "token: set METERSTREAM_WORKER_TOKEN (and give the API and CLI the same), or bind to 127.0.0.1")
    return token or None


TOKEN_NEEDED = "the worker needs 'Authorization: Bearer <METERSTREAM_WORKER_TOKEN>'"


def token_check(settings: Settings) -> Callable[[str], bool] | None:
    """Whether an Authorization header carries the worker token; None when no token is needed."""
    token = required_token(settings)
    if token is None:
        return None
    expected = f"Bearer {token}".encode()
    return lambda presented: hmac.compare_digest(presented.encode(), expected)


def guard_worker_web(app: faust.App, settings: Settings) -> None:
    """Make every request to `app`'s web server carry the worker token, when one is needed."""
    accepted = token_check(settings)
    if accepted is None:
        return

    @web.middleware
    async def require_token(request: web.Request,
                            handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if not accepted(request.headers.get("Authorization", "")):
            return web.json_response({"detail": TOKEN_NEEDED}, status=401, headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    app.web.web_app.middlewares.append(require_token)
