"""Built-in form login for the standalone server: a signed, expiring, HttpOnly session cookie.

Scripts may still send HTTP Basic credentials; browsers get a login page. Failed attempts are
throttled per client address, and the ``next`` redirect only ever points inside this site.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from collections import defaultdict, deque
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request, WebSocketException, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection

COOKIE = "stemtrace_session"
MAX_FAILURES = 5  # per client address within FAILURE_WINDOW
FAILURE_WINDOW = 300.0

PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>stemtrace · sign in</title>
<style>body{{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;
background:#0f172a;color:#e2e8f0}}
form{{background:#1e293b;padding:2rem;border-radius:12px;display:grid;gap:.8rem;min-width:280px}}
input,button{{font:inherit;padding:.55rem .7rem;border-radius:8px;border:1px solid #334155}}
button{{background:#6366f1;color:white;border:0;cursor:pointer}} .error{{color:#fca5a5}}</style>
<form method="post" action="login"><h1>stemtrace</h1>{error}
<input type="hidden" name="next" value="{next}">
<label>User <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></html>"""


def safe_next(target: str | None, default: str) -> str:
    """A redirect target inside this site: a path, never a scheme, host or protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


class FormLogin:
    def __init__(
        self, username: str, password: str, mount: str, secret: str | None = None, max_age: int = 12 * 3600
    ) -> None:
        self.username, self.password, self.mount = username, password, mount
        self.key = (secret or secrets.token_hex(32)).encode()
        self.max_age = max_age
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    # -- tokens -------------------------------------------------------------------------------------
    def _sign(self, payload: str) -> str:
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, now: float | None = None) -> str:
        expires = int((now or time.time()) + self.max_age)
        payload = f"{self.username}|{expires}"
        return base64.urlsafe_b64encode(f"{payload}|{self._sign(payload)}".encode()).decode()

    def valid(self, token: str | None, now: float | None = None) -> bool:
        if not token:
            return False
        try:
            user, expires, signature = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        except (ValueError, UnicodeDecodeError):
            return False
        good = hmac.compare_digest(signature, self._sign(f"{user}|{expires}"))
        return good and expires.isdigit() and int(expires) > (now or time.time())

    def _basic_ok(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.username.encode()) & hmac.compare_digest(
            given.encode(), self.password.encode()
        )

    # -- the dependency guarding API, WebSocket and UI ---------------------------------------------------
    async def dependency(self, connection: HTTPConnection) -> None:
        if self.valid(connection.cookies.get(COOKIE)) or self._basic_ok(connection.headers.get("authorization", "")):
            return
        if connection.scope["type"] == "websocket":
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="Not authenticated")
        path = connection.url.path
        if "text/html" not in connection.headers.get("accept", ""):  # API clients and scripts, not a browser page
            raise HTTPException(status_code=401, detail="Not authenticated")
        login = f"{connection.scope.get('root_path', '')}{self.mount}/login"
        raise HTTPException(status_code=303, headers={"Location": f"{login}?next={quote(path)}"})

    # -- login and logout routes ---------------------------------------------------------------------------
    def router(self) -> APIRouter:
        """The login and logout routes; include it with ``prefix=mount``."""
        router = APIRouter(include_in_schema=False)
        mount = self.mount
        home = f"{mount}/"

        @router.get("/login")
        def form(next: str | None = None, error: str | None = None) -> HTMLResponse:
            message = '<p class="error">Wrong user or password.</p>' if error else ""
            body = PAGE.format(error=message, next=html.escape(safe_next(next, home), quote=True))
            return HTMLResponse(body, headers={"Cache-Control": "no-store"})

        @router.post("/login")
        def submit(
            request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("")
        ) -> Response:
            client = request.client.host if request.client else "?"
            attempts = self.failures[client]
            now = time.monotonic()
            while attempts and now - attempts[0] > FAILURE_WINDOW:
                attempts.popleft()
            if len(attempts) >= MAX_FAILURES:
                raise HTTPException(status_code=429, detail="Too many failed sign-ins; try again in a few minutes")
            ok = hmac.compare_digest(username.encode(), self.username.encode()) & hmac.compare_digest(
                password.encode(), self.password.encode()
            )
            if not ok:
                attempts.append(now)
                return RedirectResponse(f"login?error=1&next={quote(safe_next(next, home))}", status_code=303)
            attempts.clear()
            response = RedirectResponse(safe_next(next, home), status_code=303)
            response.set_cookie(
                COOKIE, self.issue(), max_age=self.max_age, httponly=True, samesite="lax",
                secure=request.url.scheme == "https", path=mount or "/",
            )  # fmt: skip
            return response

        @router.post("/logout")
        def logout() -> Response:
            response = RedirectResponse("login", status_code=303)
            response.delete_cookie(COOKIE, path=mount or "/")
            return response

        return router
