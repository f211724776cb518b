"""Start a REAL Celery worker as a subprocess, wait until it is ready, stop it cleanly.

Plain use (any test, any app module importable from the repo root)::

    from tests.support.worker import start_worker

    worker = start_worker("examples.celery_app", broker_url=redis_url, pool="solo",
                          env={"STEMTRACE_PREFIX": prefix})
    try:
        ...  # send tasks to worker.queue
    finally:
        worker.stop()

As a fixture: import ``celery_worker_factory`` into the test module (or a conftest) and call it; every
worker it started is stopped after the test. Its defaults come from the ``redis_url`` and
``stream_prefix`` fixtures, and each worker consumes a queue of its own, so tests never steal each
other's messages::

    from tests.support.worker import celery_worker_factory  # noqa: F401  (a fixture)

    def test_x(celery_worker_factory):
        worker = celery_worker_factory(pool="prefork", concurrency=2)
        app = worker.client_app()          # a Celery app whose default queue is the worker's
        app.signature("examples.celery_app.add", (1, 2)).delay().get(timeout=10)

Readiness is Celery's own "ready." log line (the worker logs at INFO to a file we read), not a sleep;
a worker that dies during startup fails the test with its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


class WorkerStartError(RuntimeError):
    """The worker exited or did not become ready in time; the message carries its log."""


@dataclass
class WorkerProcess:
    """A running worker subprocess."""

    proc: subprocess.Popen[bytes]
    app_module: str
    hostname: str
    queue: str
    broker_url: str
    result_backend: str
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def client_app(self, **conf: Any) -> Any:
        """A fresh Celery app that talks to this worker (same broker, backend, default queue)."""
        from celery import Celery

        app = Celery(f"client-{self.queue}", broker=self.broker_url, backend=self.result_backend, set_as_current=False)
        app.conf.update(task_default_queue=self.queue, broker_connection_retry_on_startup=True, **conf)
        return app

    def stop(self, timeout: float = 15.0) -> int | None:
        """Warm shutdown (SIGTERM), then SIGKILL of the whole process group after ``timeout`` seconds."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


def start_worker(
    app_module: str = "examples.celery_app",
    *,
    broker_url: str,
    result_backend: str | None = None,
    pool: str = "prefork",
    concurrency: int = 2,
    queue: str | None = None,
    hostname: str | None = None,
    stemtrace_prefix: str | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    log_dir: Path | None = None,
    ready_timeout: float = 30.0,
) -> WorkerProcess:
    """Start ``celery -A app_module worker`` in a new process group and return once it is ready.

    The worker consumes only ``queue`` (default: a fresh unique name), which is also exported as
    ``CELERY_TASK_DEFAULT_QUEUE`` so chain steps and chord callbacks land on it too. ``env`` is merged
    over the current environment; ``CELERY_BROKER_URL``, ``CELERY_RESULT_BACKEND`` and (when given)
    ``STEMTRACE_PREFIX`` are set for you.
    """
    queue = queue or f"q-{uuid.uuid4().hex[:10]}"
    hostname = hostname or f"w-{uuid.uuid4().hex[:8]}@%h"
    result_backend = result_backend or broker_url
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="stemtrace-worker-"))
    log_path = log_dir / f"{queue}.log"
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), full_env.get("PYTHONPATH")) if p)
    full_env.update(
        CELERY_BROKER_URL=broker_url,
        CELERY_RESULT_BACKEND=result_backend,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        PYTHONUNBUFFERED="1",
    )
    if stemtrace_prefix:
        full_env["STEMTRACE_PREFIX"] = stemtrace_prefix
    full_env.update(env or {})
    cmd = [
        str(CELERY) if CELERY.exists() else sys.executable,
        *([] if CELERY.exists() else ["-m", "celery"]),
        "-A", app_module, "worker",
        "--pool", pool, "-c", str(concurrency),
        "-n", hostname, "-Q", queue,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "INFO",
        *extra_args,
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(proc, app_module, hostname.replace("%h", os.uname().nodename), queue, broker_url,
                           result_backend, log_path, full_env)  # fmt: skip
    deadline = time.monotonic() + ready_timeout
    while True:
        text = worker.logs()
        if " ready." in text:
            return worker
        if proc.poll() is not None:
            raise WorkerStartError(f"worker exited with {proc.returncode} during startup:\n{text[-5000:]}")
        if time.monotonic() > deadline:
            worker.stop()
            raise WorkerStartError(f"worker not ready after {ready_timeout}s:\n{text[-5000:]}")
        time.sleep(0.05)


@pytest.fixture
def celery_worker_factory(redis_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Call it to start a worker (keyword arguments of :func:`start_worker`); all are stopped afterwards.

    On a failing test the workers' logs are printed, so the reason is in the pytest report.
    """
    started: list[WorkerProcess] = []

    def factory(app_module: str = "examples.celery_app", **kwargs: Any) -> WorkerProcess:
        kwargs.setdefault("broker_url", redis_url)
        kwargs.setdefault("stemtrace_prefix", stream_prefix)
        kwargs.setdefault("log_dir", tmp_path)
        worker = start_worker(app_module, **kwargs)
        started.append(worker)
        return worker

    yield factory
    for worker in started:
        worker.stop()
        sys.stdout.write(f"\n--- worker {worker.hostname} log (tail) ---\n{worker.logs()[-3000:]}\n")
