"""Auth helpers that return FastAPI dependencies (pass one as ``auth_dependency``).

The dependencies are ``async``: they only read headers, and FastAPI would otherwise run each one in
its thread pool, a hop that costs more than the check on every request.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, WebSocketException, status
from starlette.requests import HTTPConnection

Guard = Callable[[HTTPConnection], Awaitable[None]]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _deny(connection: HTTPConnection, detail: str, headers: dict[str, str] | None = None) -> None:
    if connection.scope["type"] == "websocket":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=detail)
    raise HTTPException(status_code=401, detail=detail, headers=headers)


def require_basic_auth(username: str, password: str, realm: str = "stemtrace") -> Guard:
    """HTTP Basic auth with constant-time comparison; answers 401 with ``WWW-Authenticate``."""
    challenge = {"WWW-Authenticate": f'Basic realm="{realm}"'}

    async def dependency(request: HTTPConnection) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, given = "", ""
            # Evaluate both comparisons so timing does not reveal which one failed.
            if _same(user, username) & _same(given, password):
                return
        _deny(request, "Not authenticated", challenge)

    return dependency


def require_api_key(key: str, header: str = "X-API-Key") -> Guard:
    """An API key in ``header`` or as ``Authorization: Bearer <key>``."""

    async def dependency(request: HTTPConnection) -> None:
        given = request.headers.get(header)
        if given is None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            given = token if scheme.lower() == "bearer" else ""
        if not _same(given, key):
            _deny(request, "Invalid or missing API key")

    return dependency
