"""Worker events (``worker_ready``, ``worker_heartbeat``, ``worker_shutdown``, and each prefork child's
``worker_process_heartbeat``) and the heartbeat thread."""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
from collections.abc import Callable
from typing import Any

from stemtrace.celery.events import now_iso

_MAX_DOC = 4_000
PROCESS_HEARTBEAT = "worker_process_heartbeat"  # a prefork child's own transport counters


def task_definition(task: Any) -> dict[str, Any]:
    """``{name, module, signature, docstring, bound}`` of one registered task."""
    run = getattr(task, "run", None)
    func = getattr(run, "__func__", run)
    bound = inspect.ismethod(run)
    signature = None
    if run is not None:
        signature = _signature(run)
    doc = inspect.getdoc(func) or getattr(task, "__doc__", None)
    if doc and len(doc) > _MAX_DOC:
        doc = doc[:_MAX_DOC] + "…"
    return {
        "name": task.name,
        "module": getattr(func, "__module__", None) or type(task).__module__,
        "signature": signature,
        "docstring": doc or None,
        "bound": bound,
    }


def _signature(run: Any) -> str | None:
    """``(x: int, y: int) -> int``; string annotations (``from __future__ import annotations``) unquoted."""
    for eval_str in (True, False):  # bound methods already drop ``self``
        try:
            sig = inspect.signature(run, eval_str=eval_str)
        except Exception:  # NameError from eval_str, or a builtin without a signature
            continue
        text = str(sig)
        return text if eval_str else text.replace("'", "")
    return None


def registry(app: Any) -> tuple[list[str], dict[str, Any]]:
    """Registered task names (Celery's own ``celery.*`` left out) and their definitions."""
    names: list[str] = []
    definitions: dict[str, Any] = {}
    tasks = getattr(app, "tasks", None) or {}
    for name in sorted(tasks):
        if name.startswith("celery."):
            continue
        names.append(name)
        try:
            definitions[name] = task_definition(tasks[name])
        except Exception:
            definitions[name] = {"name": name, "module": None, "signature": None, "docstring": None, "bound": False}
    return names, definitions


def worker_event(event_type: str, hostname: str | None, app: Any = None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_type": event_type,
        "hostname": hostname,
        "pid": os.getpid(),
        "timestamp": now_iso(),
    }
    if app is not None:
        event["registered_tasks"], event["task_definitions"] = registry(app)
    event.update({k: v for k, v in extra.items() if v is not None})
    return event


class Heartbeat:
    """A daemon thread in the worker's main process calling ``beat()`` every ``interval`` seconds."""

    def __init__(self, interval: float, beat: Callable[[], None]) -> None:
        self.interval = interval
        self.beat = beat
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stemtrace-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if os.getpid() != self.pid:
                return
            with contextlib.suppress(Exception):  # a heartbeat must never kill anything
                self.beat()
