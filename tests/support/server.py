"""Run `stemtrace` CLI commands as a user would: real subprocesses, readiness by polling, never sleeps."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

STEMTRACE = Path(sys.executable).with_name("stemtrace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    base: str  # the UI URL, ending in /stemtrace/
    log: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def start_server(args: list[str], log: Path, env: dict[str, str] | None = None, timeout: float = 30) -> ServerProcess:
    """`stemtrace server <args>` (or `demo` when args start with it) on a free port; waits for liveness."""
    port = free_port()
    command = args[0] if args and args[0] in ("server", "demo") else "server"
    rest = args[1:] if args and args[0] == command else args
    cmd = [str(STEMTRACE), command, "--port", str(port), *rest]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = ServerProcess(proc, f"http://127.0.0.1:{port}/stemtrace/", log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(server.base + "api/health/live", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"`{' '.join(cmd)}` did not come up:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
