"""A server that cannot reach its broker says so in the header, and why, in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_server
from tests.support.server import free_port

pytestmark = pytest.mark.browser


def test_the_header_says_degraded_and_why(ui_page: Any, stream_prefix: str, tmp_path: Path) -> None:
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"  # a port nobody listens on
    running = run_server(["--transport-url", nothing_there, "--prefix", stream_prefix], tmp_path / "server.log")
    try:
        page = ui_page
        page.goto(running.base)
        status = page.locator('[data-testid="connection-status"]')
        explained = "el => el !== null && el.title.includes('broker disconnected (')"
        page.wait_for_function(f"() => ({explained})(document.querySelector('[data-testid=connection-status]'))",
                               timeout=20_000)  # fmt: skip
        assert "degraded" in status.inner_text()
        assert "refused" in status.get_attribute("title").lower()
        assert page.errors == []
    finally:
        running.stop()
