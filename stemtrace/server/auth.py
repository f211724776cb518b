"""Auth helpers that return FastAPI dependencies (pass one as ``auth_dependency``)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def require_basic_auth(username: str, password: str, realm: str = "stemtrace") -> Callable[[Request], None]:
    """HTTP Basic auth with constant-time comparison; answers 401 with ``WWW-Authenticate``."""
    challenge = {"WWW-Authenticate": f'Basic realm="{realm}"'}

    def dependency(request: Request) -> None:
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
        raise HTTPException(status_code=401, detail="Not authenticated", headers=challenge)

    return dependency


def require_api_key(key: str, header: str = "X-API-Key") -> Callable[[Request], None]:
    """An API key in ``header`` or as ``Authorization: Bearer <key>``."""

    def dependency(request: Request) -> None:
        given = request.headers.get(header)
        if given is None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            given = token if scheme.lower() == "bearer" else ""
        if not _same(given, key):
            raise HTTPException(status_code=401, detail="Invalid or missing API key")

    return dependency
