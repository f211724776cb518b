"""Sign-in in a real browser: the standalone server's form login in front of the UI, its API and its WebSocket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_server

pytestmark = [pytest.mark.redis, pytest.mark.browser]


@pytest.fixture
def login_server(redis_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[str]:
    running = run_server(
        ["--transport-url", redis_url, "--prefix", stream_prefix, "--login-user", "ops", "--login-password", "s3cret"],
        tmp_path / "server.log",
    )
    yield running.base
    running.stop()


def test_sign_in_opens_the_ui_live(ui_page: Any, login_server: str) -> None:
    page = ui_page
    page.goto(login_server)
    page.locator('input[name="password"]').wait_for(timeout=10_000)
    page.fill('input[name="username"]', "ops")
    page.fill('input[name="password"]', "wrong")
    page.click('button[type="submit"]')
    page.locator('input[name="password"]').wait_for(timeout=10_000)
    assert page.locator('[data-testid="connection-status"]').count() == 0
    page.fill('input[name="username"]', "ops")
    page.fill('input[name="password"]', "s3cret")
    page.click('button[type="submit"]')
    # The session cookie opens the API (Polling) and the WebSocket (Live) too.
    page.locator('[data-testid="connection-status"][data-mode="live"]').wait_for(timeout=20_000)
    assert page.dialogs == [] and page.errors == []
