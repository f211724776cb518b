"""Optional capture of what a task prints (``capture_output=True``).

``sys.stdout``/``sys.stderr`` are wrapped once by a tee that still writes everything through, and also
copies writes made by a thread that is running a captured task into that task's bounded buffer. The
tee is installed on the first capture and left in place; with no capture active it only forwards.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_local = threading.local()
_install_lock = threading.Lock()


class _Capture:
    __slots__ = ("chunks", "cut", "limit", "size", "task_id")

    def __init__(self, task_id: str, limit: int) -> None:
        self.task_id = task_id
        self.limit = limit
        self.size = 0
        self.cut = 0
        self.chunks: list[str] = []

    def add(self, text: str) -> None:
        room = self.limit - self.size
        if room <= 0:
            self.cut += len(text)
            return
        piece = text[:room]
        self.chunks.append(piece)
        self.size += len(piece)
        self.cut += len(text) - len(piece)

    def text(self) -> str | None:
        if not self.chunks:
            return None
        out = "".join(self.chunks)
        return f"{out}… [truncated {self.cut} chars]" if self.cut else out


class _Tee:
    """Forwards to the wrapped stream; copies the current thread's writes into its capture."""

    def __init__(self, wrapped: Any) -> None:
        self._stemtrace_wrapped = wrapped

    def write(self, text: Any) -> Any:
        cap = getattr(_local, "capture", None)
        if cap is not None and isinstance(text, str):
            cap.add(text)
        return self._stemtrace_wrapped.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stemtrace_wrapped, name)


def _install() -> None:
    with _install_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not isinstance(stream, _Tee):
                setattr(sys, name, _Tee(stream))


def start(task_id: str | None, limit: int) -> None:
    """Begin capturing this thread's output for ``task_id``."""
    if not task_id:
        return
    _install()
    _local.capture = _Capture(task_id, limit)


def stop(task_id: str | None) -> str | None:
    """End this thread's capture for ``task_id`` and return what was printed (None if nothing/none)."""
    cap = getattr(_local, "capture", None)
    if cap is None or cap.task_id != task_id:
        return None
    _local.capture = None
    return cap.text()
