"""A private ``redis-server`` that can be stopped and started again on the same port, with or without its data."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.server import free_port


@dataclass
class RestartableRedis:
    """A private ``redis-server`` on a fixed port: stopped with or without saving its data, started again."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=10)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make system-deps`")
        # No automatic snapshots; only stop(keep_data=True) writes dump.rdb, which the next start loads.
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir), "--save", ""]
        self.proc = subprocess.Popen(
            [binary, *args, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise RuntimeError(f"redis-server on port {self.port} never answered")
            time.sleep(0.05)

    def stop(self, *, keep_data: bool) -> None:
        """SHUTDOWN SAVE (the restart finds every entry) or SHUTDOWN NOSAVE (it finds an empty Redis)."""
        with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it exits
            self.client().shutdown(save=keep_data, nosave=not keep_data)
        assert self.proc is not None
        self.proc.wait(30)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
