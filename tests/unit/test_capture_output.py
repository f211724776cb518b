"""``capture_output``: what a task prints is copied (bounded) while still reaching the real stream."""

from __future__ import annotations

import io
import sys
import threading

from stemtrace.celery import output


def test_capture_is_per_thread_bounded_and_passes_through(monkeypatch) -> None:
    real = io.StringIO()
    monkeypatch.setattr(sys, "stdout", real)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # the tee wraps both; keep it off pytest's streams
    output.start("t1", limit=10)
    other: list[str | None] = []

    def elsewhere() -> None:  # another thread's prints are not this task's output
        print("not mine")
        other.append(output.stop("t1"))

    th = threading.Thread(target=elsewhere)
    th.start()
    th.join()
    print("hello world, long line")
    captured = output.stop("t1")
    assert captured == "hello worl… [truncated 13 chars]"
    assert "hello world, long line" in real.getvalue() and "not mine" in real.getvalue()
    assert other == [None]
    assert output.stop("t1") is None
