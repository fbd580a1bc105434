"""The door of every request with a body: the key is checked, then the size, then the body is read.

FastAPI reads and parses a body before it solves a route's dependencies, so a key checked in a
dependency is checked too late: a 50 MB body sent with no key was parsed first, and the process
grew to 630 MB. This ASGI middleware runs before the app:

1. a request to an authenticated path (`/v1/…`, `/compat/…`) that carries a body must present a
   valid API key first (401 otherwise; 403 for a portal token, which only reads);
2. a body declared (Content-Length) or found (while reading, for a chunked one) to be larger
   than the path's limit answers 413 without reading further: `max_body_bytes` for one event or
   any other body, `max_batch_body_bytes` for the batch endpoint and its up to 1,000 items;
3. the body, at most the limit, is then handed to the app as it arrived.

The key it checked is left in the request's state, so the route's dependency does not look it up
again (auth.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from meterstream.api.errors import ApiError, Unauthorized

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTHENTICATED_PREFIXES = ("/v1/", "/compat/")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
BATCH_PATHS = frozenset({"/v1/usage/batch"})


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"


class BodyTooLarge(ApiError):
    """The request's body is larger than its endpoint accepts."""

    status = 413

    def __init__(self, path: str, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body too large: {path} accepts at most {_mib(limit)} "
                         f"({limit} bytes); send fewer events per request")


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestGuard:
    """ASGI middleware: authenticate, then bound, then read the body (see the module's docstring).

    `await authenticate(scope, token)` returns the caller or raises an ApiError.
    """

    def __init__(self, app: ASGIApp, authenticate: Callable[[Scope, str], Awaitable[Any]], max_body_bytes: int,
                 max_batch_body_bytes: int) -> None:
        self.app = app
        self.authenticate = authenticate
        self.max_body_bytes = max_body_bytes
        self.max_batch_body_bytes = max_batch_body_bytes

    def limit(self, path: str) -> int:
        return self.max_batch_body_bytes if path in BATCH_PATHS else self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        try:
            if path.startswith(AUTHENTICATED_PREFIXES):
                token = bearer_token(scope)
                if token is None:
                    raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
                caller = await self.authenticate(scope, token)
                state = scope.setdefault("state", {})
                state["caller"], state["tenant_id"] = caller, caller.tenant_id
            limit = self.limit(path)
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                raise BodyTooLarge(path, limit)
            body = await self._read(receive, path, limit)
        except ApiError as error:
            await _answer(send, error)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, path: str, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(path, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replayed


async def _answer(send: Send, error: ApiError) -> None:
    body = json.dumps({"detail": str(error), "errors": []}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if isinstance(error, Unauthorized):
        headers.append((b"www-authenticate", b"Bearer"))
    headers.append((b"connection", b"close"))  # the rest of the body is not read: this connection ends here
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
