"""A private ``redis-server`` that can be stopped and started again on the same port, with or without its data."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.support.certs import make_certificates
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
        # No automatic snapshots; only stop(keep_data=True) writes dump.rdb, which the next start loads.
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir), "--save", ""]
        self.proc = _spawn([*args, "--appendonly", "no"])
        _wait_answering(self.proc, redis.Redis.from_url(self.url, socket_connect_timeout=0.5), f"port {self.port}")

    def stop(self, *, keep_data: bool) -> None:
        """SHUTDOWN SAVE (the restart finds every entry) or SHUTDOWN NOSAVE (it finds an empty Redis)."""
        with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it exits
            self.client().shutdown(save=keep_data, nosave=not keep_data)
        assert self.proc is not None
        self.proc.wait(30)

    def kill(self) -> None:
        _kill(self.proc)


@dataclass
class TlsRedis:
    """A private ``redis-server`` that speaks only TLS, with a certificate for ``localhost`` signed by a CA of
    its own (``ca``): verifying clients must be given that CA."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    client_certificates: bool = False  # clients must present a certificate the CA signed

    @property
    def ca(self) -> Path:
        return self.workdir / "ca.pem"

    def url(self, query: str) -> str:
        return f"rediss://localhost:{self.port}/0?{query}"

    def verified_query(self) -> str:
        """Verify the server against our CA; with client certificates, present the one the CA signed."""
        query = f"ssl_ca_certs={self.ca}"
        if self.client_certificates:  # the server's certificate serves as the client's: the CA signed it
            query += f"&ssl_certfile={self.workdir / 'server.pem'}&ssl_keyfile={self.workdir / 'server.key'}"
        return query

    def start(self) -> None:
        certs = make_certificates(self.workdir)
        self.proc = _spawn(["--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                            "--tls-cert-file", str(certs.cert), "--tls-key-file", str(certs.key),
                            "--tls-ca-cert-file", str(certs.ca),
                            "--tls-auth-clients", "yes" if self.client_certificates else "no"])  # fmt: skip
        client = redis.Redis.from_url(self.url(self.verified_query()), socket_connect_timeout=0.5)
        _wait_answering(self.proc, client, f"TLS port {self.port} (built without TLS?)")

    def kill(self) -> None:
        _kill(self.proc)


@dataclass
class SentinelRedis:
    """A private master ``redis-server`` watched by one sentinel (``redis-server --sentinel``) under the name
    ``mymaster``; :meth:`add_replica` and :meth:`fail_over` move the master to another server."""

    workdir: Path
    port: int = field(default_factory=free_port)
    sentinel_port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    master: str = "mymaster"

    def url(self, db: int = 0) -> str:
        return f"sentinel://127.0.0.1:{self.sentinel_port}/{db}?master_name={self.master}"

    def sentinel(self) -> redis.Redis:
        return redis.Redis(port=self.sentinel_port, socket_timeout=5, decode_responses=True)

    def master_port(self) -> int | None:
        addr = self.sentinel().execute_command("SENTINEL", "get-master-addr-by-name", self.master)
        return int(addr[1]) if addr else None

    def start(self) -> None:
        self._server(self.port)
        conf = self.workdir / "sentinel.conf"
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {self.master} 127.0.0.1 {self.port} 1\n"
            f"sentinel down-after-milliseconds {self.master} 1000\nsentinel failover-timeout {self.master} 5000\n"
        )
        self.procs.append(_spawn([str(conf), "--sentinel"]))
        _until(lambda: self.master_port() == self.port, "the sentinel never named the master")

    def add_replica(self) -> int:
        """A replica of the master; returns once the sentinel knows it (it learns replicas from the master)."""
        port = free_port()
        self._server(port, "--replicaof", "127.0.0.1", str(self.port))
        _until(lambda: self._replica_ready(port), "the sentinel never saw the replica in sync", timeout=30)
        return port

    def _replica_ready(self, port: int) -> bool:
        return any(
            int(r["port"]) == port and r.get("master-link-status") == "ok" and not r.get("is_disconnected")
            for r in self.sentinel().sentinel_slaves(self.master)
        )

    def fail_over(self) -> int:
        """Promote the replica and stop the old master; returns the new master's port."""

        def promoted() -> bool:
            if self.master_port() not in (None, self.port):
                return True
            # Refused while the sentinel's view of the replica is not fresh yet: asked again.
            with contextlib.suppress(redis.ResponseError):
                self.sentinel().execute_command("SENTINEL", "FAILOVER", self.master)
            return False

        _until(promoted, "the sentinel never promoted the replica", timeout=30)
        self.procs[0].kill()  # the old master: readers and writers must ask the sentinel again
        new = self.master_port()
        assert new is not None
        return new

    def _server(self, port: int, *args: str) -> None:
        # The master is started first: procs[0].
        proc = _spawn(["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(self.workdir), *args])
        self.procs.append(proc)
        _wait_answering(proc, redis.Redis(port=port, socket_connect_timeout=0.5), f"port {port}")

    def kill(self) -> None:
        for proc in self.procs:
            _kill(proc)


def _kill(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `make system-deps`")
    return subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_answering(proc: subprocess.Popen[bytes], client: redis.Redis, where: str) -> None:
    """Until ``client`` gets an answer; the server is killed and the test told when it never comes."""
    try:
        _until(lambda: proc.poll() is None and client.ping(), f"redis-server on {where} never answered")
    except RuntimeError:
        _kill(proc)
        raise


def _until(check: Any, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(what)
        time.sleep(0.1)
