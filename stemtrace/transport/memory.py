"""``memory://``: a process-global bus for the demo and tests — no Redis, one process only.

Producers publish batches of raw JSON bytes (exactly what would go in a stream entry's ``data``);
subscribers (``subscribe(callback)``) get them as ``list[bytes]`` on the bus's own daemon thread, so a
slow subscriber never slows a task. Batches published while nobody listens wait in a bounded backlog
(oldest dropped first) that the first subscriber receives.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from stemtrace.transport.base import BufferedTransport

log = logging.getLogger("stemtrace.transport")

Subscriber = Callable[[list[bytes]], None]

BACKLOG_EVENTS = 100_000


class MemoryBus:
    """Fan-out of event batches to in-process subscribers, delivered from a background thread."""

    def __init__(self, backlog: int = BACKLOG_EVENTS) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._subscribers: list[Subscriber] = []
        self._backlog: deque[bytes] = deque(maxlen=backlog)
        self._pending: deque[list[bytes]] = deque()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._pid = os.getpid()
        self.published = 0
        self.delivered = 0

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Receive every later batch (and the backlog, if this is the first subscriber); returns unsubscribe."""
        with self._cond:
            first = not self._subscribers
            self._subscribers.append(callback)
            if first and self._backlog:
                self._pending.appendleft(list(self._backlog))
                self._backlog.clear()
            self._ensure_thread()
            self._cond.notify()

        def unsubscribe() -> None:
            with self._cond:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, batch: list[bytes]) -> None:
        """Queue a batch for delivery; kept in the backlog if nobody subscribed yet."""
        if not batch:
            return
        with self._cond:
            self.published += len(batch)
            if not self._subscribers:
                self._backlog.extend(batch)
                return
            self._pending.append(list(batch))
            self._ensure_thread()
            self._cond.notify()

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Block until every queued batch was handed to the subscribers (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def clear(self) -> None:
        """Forget subscribers, backlog and queued batches (tests)."""
        with self._cond:
            self._subscribers.clear()
            self._backlog.clear()
            self._pending.clear()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._deliver, name="stemtrace-memory-bus", daemon=True)
            self._thread.start()

    def _deliver(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch = self._pending.popleft()
                subscribers = list(self._subscribers)
                self._busy = True
            try:
                for callback in subscribers:
                    try:
                        callback(batch)
                    except Exception:
                        log.exception("stemtrace: a memory-bus subscriber failed")
                self.delivered += len(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


_bus = MemoryBus()
_bus_lock = threading.Lock()


def get_bus() -> MemoryBus:
    """The bus of this process (a forked child gets a fresh, empty one)."""
    global _bus, _bus_lock
    if _bus._pid != os.getpid():
        _bus_lock = threading.Lock()
        _bus = MemoryBus()
    return _bus


def subscribe(callback: Subscriber) -> Callable[[], None]:
    """Subscribe ``callback(list_of_json_bytes)`` to the process-global bus; returns the unsubscribe function."""
    return get_bus().subscribe(callback)


def publish(batch: list[bytes]) -> None:
    get_bus().publish(batch)


class MemoryTransport(BufferedTransport):
    """Transport for ``memory://``: the sender thread publishes its batches to the process-global bus."""

    name = "memory"

    def __init__(self, url: str = "memory://", **kwargs: Any) -> None:
        kwargs.setdefault("linger", 0.01)
        super().__init__(**kwargs)
        self.url = url

    def _write(self, batch: list[bytes]) -> None:
        get_bus().publish(batch)

    def flush(self, timeout: float = 2.0) -> bool:
        ok = super().flush(timeout)
        return get_bus().wait_idle(timeout) and ok
