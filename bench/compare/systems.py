"""The systems under test: how to start each one, when it is ready, how many tasks it shows, what to probe.

- ``ours``: this repo's ``stemtrace server`` (``/work/main/.venv``), reading ``{prefix}:events``.
- ``peer045``: the pure-Python stemtrace 0.4.5 (``/work/peers-venv``), same stream, same API prefix.
- ``flower``: Flower 2.x (compare venv), fed the equivalent Celery events in-process (see flower_server.py).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.compare.generator import REPO, Stream

# Each server's cheapest route: what its framework costs per request, the floor under every other probe.
FLOOR_PROBE = "cheapest route (the server's floor)"

OURS_BIN = Path(os.environ.get("STEMTRACE_BIN", REPO / ".venv/bin/stemtrace"))
PEERS_PY = Path(os.environ.get("PEERS_VENV", "/work/peers-venv")) / "bin/python"
COMPARE_PY = Path(os.environ.get("COMPARE_VENV", "/work/compare-venv")) / "bin/python"
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants, from /proc."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


@dataclass
class Config:
    redis_url: str
    prefix: str
    max_tasks: int
    workdir: Path
    events_file: Path | None = None  # Celery events, for Flower


@dataclass
class Running:
    proc: subprocess.Popen
    base_url: str
    started: float
    log: Path
    extra: dict = field(default_factory=dict)


class System(ABC):
    key = ""
    label = ""

    @abstractmethod
    def command(self, cfg: Config, port: int) -> list[str]:
        """The command line that starts this system's server on ``port``."""

    def start(self, cfg: Config) -> Running:
        port = free_port()
        log = cfg.workdir / f"{self.key}-{port}.log"
        started = time.perf_counter()
        proc = subprocess.Popen(
            self.command(cfg, port),
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return Running(proc, f"http://127.0.0.1:{port}", started, log)

    def stop(self, run: Running) -> None:
        if run.proc.poll() is None:
            run.proc.terminate()
            try:
                run.proc.wait(15)
            except subprocess.TimeoutExpired:
                run.proc.kill()
                run.proc.wait(5)

    def _alive(self, run: Running) -> None:
        if run.proc.poll() is not None:
            tail = run.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.key} exited with {run.proc.returncode}:\n{tail}")

    def wait_up(self, run: Running, timeout: float = 120) -> float:
        """Seconds from start until the HTTP API answers."""
        deadline = time.perf_counter() + timeout
        with httpx.Client(timeout=5) as client:
            while time.perf_counter() < deadline:
                self._alive(run)
                try:
                    if client.get(run.base_url + self.live_path).status_code == 200:
                        return time.perf_counter() - run.started
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise TimeoutError(f"{self.key} did not come up in {timeout}s")

    live_path = "/stemtrace/api/health/live"

    @abstractmethod
    def wait_ingested(self, run: Running, stream: Stream, timeout: float) -> float:
        """Seconds from start until every task of ``stream`` is visible in the API."""

    @abstractmethod
    def count(self, run: Running) -> int:
        """Tasks the system shows."""

    @abstractmethod
    def probes(self, stream: Stream) -> dict[str, str | None]:
        """The API paths timed for latency, by name (None: the system has no equivalent)."""


class StemtraceAPI(System):
    """Ours and 0.4.5 share the API shape: the last task turning SUCCESS means the stream was consumed."""

    floor_route: str

    def wait_ingested(self, run: Running, stream: Stream, timeout: float) -> float:
        url = f"{run.base_url}/stemtrace/api/tasks/{stream.last_task_id}"
        progress: list[tuple[float, int]] = []  # (seconds since start, node_count) for the steady rate
        run.extra["progress"] = progress
        deadline = time.perf_counter() + timeout
        with httpx.Client(timeout=30) as client:
            for i in itertools.count():
                if time.perf_counter() > deadline:
                    break
                self._alive(run)
                try:
                    if i % 5 == 0:
                        health = client.get(f"{run.base_url}/stemtrace/api/health").json()
                        progress.append((time.perf_counter() - run.started, int(health["node_count"])))
                    r = client.get(url)
                    if r.status_code == 200 and r.json()["task"]["state"] == stream.last_task_state:
                        return time.perf_counter() - run.started
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.05)
        raise TimeoutError(f"{self.key} did not ingest the stream in {timeout}s")

    def count(self, run: Running) -> int:
        r = httpx.get(f"{run.base_url}/stemtrace/api/tasks", params={"limit": 1, "compact": 1}, timeout=300)
        return int(r.json()["total"])

    def probes(self, stream: Stream) -> dict[str, str | None]:
        api = "/stemtrace/api"
        return {
            "task list page": f"{api}/tasks?limit=100",
            "filtered page (FAILURE)": f"{api}/tasks?limit=100&state=FAILURE",
            "flow detail (100-task chord)": f"{api}/graphs/group:{stream.chord_group_id}",
            "task detail": f"{api}/tasks/{stream.detail_task_id}",
            FLOOR_PROBE: f"{api}/{self.floor_route}",
        }


class Ours(StemtraceAPI):
    key = "ours"
    label = "stemtrace (ours)"
    floor_route = "health/live"  # constant answer, no engine call

    def command(self, cfg: Config, port: int) -> list[str]:
        return [str(OURS_BIN), "server", *stream_args(cfg, port), "--max-tasks", str(cfg.max_tasks)]


class Peer045(StemtraceAPI):
    key = "peer045"
    label = "stemtrace 0.4.5"
    floor_route = "health"  # its cheapest route: a few counters

    def command(self, cfg: Config, port: int) -> list[str]:
        launcher = [str(PEERS_PY), str(HERE / "peer045_server.py")]
        return [*launcher, *stream_args(cfg, port), "--max-nodes", str(cfg.max_tasks)]


def stream_args(cfg: Config, port: int) -> list[str]:
    """The options both stemtrace servers share: the stream to follow and the port."""
    return ["--transport-url", cfg.redis_url, "--prefix", cfg.prefix, "--port", str(port)]


class Flower(System):
    key = "flower"
    label = "Flower"
    live_path = "/healthcheck"

    def command(self, cfg: Config, port: int) -> list[str]:
        assert cfg.events_file is not None
        return [
            str(COMPARE_PY),
            str(HERE / "flower_server.py"),
            "--broker",
            cfg.redis_url,
            "--port",
            str(port),
            "--events-file",
            str(cfg.events_file),
            "--max-tasks",
            str(cfg.max_tasks),
        ]

    def _feed_report(self, run: Running) -> dict | None:
        for line in run.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"events"' in line:
                return json.loads(line)
        return None

    def wait_ingested(self, run: Running, stream: Stream, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self._alive(run)
            report = self._feed_report(run)
            if report is not None:
                run.extra.update(report)
                return self.wait_up(run, timeout=max(1.0, deadline - time.perf_counter()))
            time.sleep(0.05)
        raise TimeoutError(f"flower did not finish its feed in {timeout}s")

    def count(self, run: Running) -> int:
        return int(run.extra.get("tasks", 0))

    def probes(self, stream: Stream) -> dict[str, str | None]:
        return {
            "task list page": "/api/tasks?limit=100&sort_by=-received",
            "filtered page (FAILURE)": "/api/tasks?limit=100&state=FAILURE&sort_by=-received",
            "flow detail (100-task chord)": None,
            "task detail": f"/api/task/info/{stream.detail_task_id}",
            FLOOR_PROBE: "/healthcheck",
        }


SYSTEMS: dict[str, System] = {s.key: s for s in (Ours(), Peer045(), Flower())}
