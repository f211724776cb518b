"""Form login of the standalone server: cookie flags, expiry, throttling, safe redirects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from stemtrace.server.app import create_app
from stemtrace.server.login import COOKIE, FormLogin, safe_next

BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("STEMTRACE_TRANSPORT_URL", "memory://")
    monkeypatch.setenv("STEMTRACE_LOGIN_USER", "ops")
    monkeypatch.setenv("STEMTRACE_LOGIN_PASSWORD", "s3cret")
    with TestClient(create_app(), follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient, password: str = "s3cret", next_url: str = "/stemtrace/#/flows"):  # type: ignore[no-untyped-def]
    return client.post("/stemtrace/login", data={"username": "ops", "password": password, "next": next_url})


def test_ui_redirects_to_login_and_api_says_401(client: TestClient) -> None:
    page = client.get("/stemtrace/", headers=BROWSER)
    assert page.status_code == 303 and page.headers["location"] == "/stemtrace/login?next=/stemtrace/"
    assert client.get("/stemtrace/api/tasks").status_code == 401
    assert client.get("/stemtrace/login").status_code == 200
    assert client.get("/stemtrace/api/health/live").status_code == 200
    assert client.get("/stemtrace/openapi.json").status_code == 401
    assert client.get("/stemtrace/docs", headers=BROWSER).status_code == 303


def test_sign_in_sets_a_safe_cookie_and_opens_everything(client: TestClient) -> None:
    answer = sign_in(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/stemtrace/#/flows"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/stemtrace" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    assert client.get("/stemtrace/api/tasks").status_code == 200
    assert client.get("/stemtrace/").status_code == 200
    assert "/stemtrace/api/tasks" in client.get("/stemtrace/openapi.json").json()["paths"]
    assert client.get("/stemtrace/docs").status_code == 200
    assert client.get("/stemtrace/api/tasks", auth=("ops", "s3cret"), cookies={}).status_code == 200


def test_wrong_password_is_throttled(client: TestClient) -> None:
    for _ in range(5):
        assert "error=1" in sign_in(client, "nope").headers["location"]
    assert sign_in(client, "nope").status_code == 429
    assert sign_in(client).status_code == 429  # even the right password waits out the window
    assert COOKIE not in client.cookies


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""]
)
def test_next_never_leaves_the_site(target: str) -> None:
    assert safe_next(target, "/stemtrace/") == "/stemtrace/"
    assert safe_next("/stemtrace/#/tasks?state=FAILURE", "/") == "/stemtrace/#/tasks?state=FAILURE"


def test_tokens_expire_and_cannot_be_forged() -> None:
    login = FormLogin("ops", "pw", "/stemtrace", secret="k", max_age=60)
    token = login.issue(now=1000)
    assert login.valid(token, now=1059) and not login.valid(token, now=1061)
    forged = FormLogin("ops", "pw", "/stemtrace", secret="other").issue(now=1000)
    assert not login.valid(forged, now=1001)
    assert not login.valid("garbage", now=1001)
