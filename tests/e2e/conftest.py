"""Browser fixtures: a real `stemtrace server` subprocess and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("STEMTRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(redis_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[str]:
    """`stemtrace server` as a user runs it, following this test's stream; yields its UI URL."""
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    cmd = [str(Path(sys.executable).with_name("stemtrace")), "server", "--port", str(port),
           "--transport-url", redis_url, "--prefix", stream_prefix]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/stemtrace/"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"stemtrace server did not come up:\n{(tmp_path / 'server.log').read_text()}")
        time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(10)
