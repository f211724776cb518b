"""What every transport offers (``Transport``), and the buffered, fork-safe Python sender the AMQP and memory
transports build on (Redis has a native one: ``redis.py``).

A task thread only appends serialised bytes to a bounded in-process buffer (an uncontended lock and a
``deque.append``); a daemon thread drains the buffer in batches and hands each batch to ``_write``.
When the buffer is full the *oldest* event is dropped and counted: after an outage the newest events
(final states) are the ones worth keeping.

Fork safety: nothing starts at construction. The buffer, lock and thread live in a per-process
``_Worker`` created on first use and re-created whenever ``os.getpid()`` changes (Celery prefork
children, ``max_tasks_per_child`` replacements), so a child never touches a lock or socket its parent
held at fork time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

import orjson

log = logging.getLogger("stemtrace.transport")

_LOG_EVERY = 30.0  # seconds between two warnings about the same trouble


class Transport(ABC):
    """What every transport offers the signal handlers; none of it ever blocks or raises in their thread."""

    name = "transport"

    def __init__(self) -> None:
        _ALL.add(self)

    def send(self, event: dict[str, Any]) -> None:
        """Serialise and enqueue one event. Never raises, never blocks on I/O."""
        try:
            data = orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)
        except Exception:  # the event builder makes values JSON-safe; this is a last resort
            try:
                data = orjson.dumps(event, default=repr, option=orjson.OPT_NON_STR_KEYS)
            except Exception:
                log.debug("stemtrace: event could not be serialised", exc_info=True)
                return
        self.send_bytes(data)

    @abstractmethod
    def send_bytes(self, data: bytes) -> None:
        """Enqueue one already serialised JSON object."""

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Counters of this process: events ``sent``, ``dropped`` (buffer full), write ``errors``, ``buffered``."""

    @abstractmethod
    def flush(self, timeout: float = 2.0) -> bool:
        """Wait up to ``timeout`` seconds until everything buffered was written; True if it was."""

    @abstractmethod
    def close(self, timeout: float = 2.0) -> bool:
        """Flush with a deadline and stop sending; later sends are ignored."""

    @abstractmethod
    def _after_fork(self) -> None:
        """Forget this process's state in a forked child, which makes its own on first use."""


class _Worker:
    """Per-process state: buffer, counters and the sender thread."""

    def __init__(self, owner: BufferedTransport) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.buffer: deque[bytes] = deque()
        self.wakeup = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.stopping = False
        self.failing = False  # last write failed: the sender is backing off, don't wake it per event
        self.bytes = 0  # size of what is buffered
        self.sent = 0
        self.dropped = 0
        self.errors = 0
        self.thread = threading.Thread(
            target=owner._run, args=(self,), name=f"stemtrace-sender-{owner.name}", daemon=True
        )
        self.thread.start()


class BufferedTransport(Transport):
    """Base class: subclasses implement ``_write(batch)`` (raise on failure) and optionally ``_reset()``."""

    name = "buffered"

    def __init__(
        self,
        *,
        buffer_size: int = 10_000,
        buffer_bytes: int = 64 * 1024 * 1024,
        batch_size: int = 500,
        batch_bytes: int = 1024 * 1024,
        linger: float = 0.05,
    ) -> None:
        self.buffer_size = buffer_size
        self.buffer_bytes = buffer_bytes  # a second bound: 10k events of 50 KB would be 500 MB
        self.batch_bytes = batch_bytes
        self.batch_size = batch_size
        self.linger = linger
        self._worker: _Worker | None = None
        self._create_lock = threading.Lock()
        self._last_warning = 0.0
        self._closed = False
        super().__init__()

    # ----------------------------------------------------------------- task-thread side (must be cheap)

    def send_bytes(self, data: bytes) -> None:
        if self._closed:
            return
        w = self._worker
        if w is None or w.pid != os.getpid():
            w = self._current()
        with w.lock:
            w.buffer.append(data)
            w.bytes += len(data)
            while len(w.buffer) > self.buffer_size or (w.bytes > self.buffer_bytes and len(w.buffer) > 1):
                w.bytes -= len(w.buffer.popleft())
                w.dropped += 1
            if w.idle.is_set():  # Event.clear() takes a lock of its own: only when there is something to clear
                w.idle.clear()
        if len(w.buffer) >= self.batch_size and not w.failing and not w.wakeup.is_set():
            w.wakeup.set()

    def stats(self) -> dict[str, int]:
        w = self._worker
        if w is None or w.pid != os.getpid():
            return {"sent": 0, "dropped": 0, "errors": 0, "buffered": 0}
        return {"sent": w.sent, "dropped": w.dropped, "errors": w.errors, "buffered": len(w.buffer)}

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait up to ``timeout`` seconds until everything buffered was written; True if it was.

        Gives up early when a write attempt made during the wait fails: with the destination down,
        waiting longer only delays the caller (typically a worker shutting down).
        """
        w = self._worker
        if w is None or w.pid != os.getpid():
            return True
        errors = w.errors
        deadline = time.monotonic() + timeout
        w.wakeup.set()  # also cuts a retry back-off short: try now
        while not w.idle.wait(min(0.02, max(deadline - time.monotonic(), 0))):
            if w.errors != errors or time.monotonic() >= deadline or not w.thread.is_alive():
                return w.idle.is_set()
        return True

    def close(self, timeout: float = 2.0) -> bool:
        """Flush with a deadline and stop the sender thread; later sends are ignored."""
        ok = self.flush(timeout)
        self._closed = True
        w = self._worker
        if w is not None and w.pid == os.getpid():
            w.stopping = True
            w.wakeup.set()
        return ok

    # ----------------------------------------------------------------- sender side

    def _current(self) -> _Worker:
        w = self._worker
        if w is not None and w.pid == os.getpid():
            return w
        with self._create_lock:
            w = self._worker
            if w is None or w.pid != os.getpid():
                self._reset()
                w = self._worker = _Worker(self)
        return w

    def _after_fork(self) -> None:
        # The parent's lock may have been held at fork time: replace it, and forget the parent's worker.
        self._create_lock = threading.Lock()
        self._worker = None
        self._reset()

    def _run(self, w: _Worker) -> None:
        backoff = 0.0
        while not (w.stopping and not w.buffer):
            if backoff:
                w.wakeup.wait(backoff)
                if w.stopping:
                    backoff = 0.0  # last attempt on shutdown, no more waiting
            else:
                w.wakeup.wait(self.linger)
            w.wakeup.clear()
            if w.pid != os.getpid():
                return  # a forked copy of this thread's owner; never happens for real threads
            batch = self._take(w)
            if not batch:
                with w.lock:
                    if not w.buffer:
                        w.idle.set()
                if w.stopping:
                    break
                continue
            try:
                self._write(batch)
            except Exception as exc:
                w.errors += 1
                w.failing = True
                self._put_back(w, batch)
                backoff = min(max(backoff * 2, 0.1), 5.0)
                self._warn(f"stemtrace: could not send {len(batch)} event(s) ({exc!r}); retrying", w)
                if w.stopping:
                    break
                continue
            backoff = 0.0
            w.failing = False
            w.sent += len(batch)
            with w.lock:
                if not w.buffer:
                    w.idle.set()
        w.idle.set()

    def _take(self, w: _Worker) -> list[bytes]:
        with w.lock:
            if len(w.buffer) <= self.batch_size and w.bytes < self.batch_bytes:  # all of it, the usual case
                batch = list(w.buffer)
                w.buffer.clear()
                w.bytes = 0
                return batch
            batch = []
            size = 0
            while w.buffer and len(batch) < self.batch_size and (not batch or size < self.batch_bytes):
                data = w.buffer.popleft()
                size += len(data)
                batch.append(data)
            w.bytes -= size
            return batch

    def _put_back(self, w: _Worker, batch: list[bytes]) -> None:
        with w.lock:
            # What is buffered now is newer than the batch: when space runs out, the batch gives way.
            room = max(self.buffer_size - len(w.buffer), 0)
            keep = batch[max(len(batch) - room, 0) :]  # a copy: the count of dropped ones below needs batch
            size = sum(map(len, keep))
            while keep and w.bytes + size > self.buffer_bytes:
                size -= len(keep.pop(0))
            w.dropped += len(batch) - len(keep)
            w.bytes += size
            w.buffer.extendleft(reversed(keep))

    def _warn(self, message: str, w: _Worker) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _LOG_EVERY:
            self._last_warning = now
            log.warning("%s [sent=%d dropped=%d errors=%d]", message, w.sent, w.dropped, w.errors)

    # ----------------------------------------------------------------- for subclasses

    @abstractmethod
    def _write(self, batch: list[bytes]) -> None:
        """Send one batch; raise on failure (the batch is kept and retried)."""

    def _reset(self) -> None:  # an optional hook: a transport may hold nothing per process
        """Drop per-process resources (connections); called in a new process before the first write."""


_ALL: weakref.WeakSet[Transport] = weakref.WeakSet()


def _reset_all_after_fork() -> None:
    for transport in list(_ALL):
        transport._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_after_fork)
