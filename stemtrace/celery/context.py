"""The correlation id (``trace_id``) of the current flow.

It travels in the message header ``stemtrace_trace_id`` from the first publish to every descendant:
tasks a task sends, chain continuations, chord callbacks and retries are all published while the parent
task runs, so the publish hook finds the running task's id here. ``with stemtrace.trace("req-42"):``
sets it explicitly in a web request; a W3C ``traceparent`` header on the first publish (OpenTelemetry, or
``apply_async(headers={"traceparent": ...})``) gives its trace id; otherwise a flow's trace id is its root
task id.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

HEADER = "stemtrace_trace_id"
# Celery publishes a retry with parent_id = the task's own id; the real parent travels in this header.
PARENT_HEADER = "stemtrace_parent_id"

_explicit: contextvars.ContextVar[str | None] = contextvars.ContextVar("stemtrace_trace", default=None)
_running: contextvars.ContextVar[Running | None] = contextvars.ContextVar("stemtrace_running", default=None)


class Running(NamedTuple):
    """The task executing in this thread: its trace id, id and (real) parent id."""

    trace_id: str | None
    task_id: str | None
    parent_id: str | None


@contextlib.contextmanager
def trace(trace_id: str) -> Iterator[str]:
    """Tag every task published inside the block (and all their descendants) with ``trace_id``."""
    token = _explicit.set(str(trace_id))
    try:
        yield str(trace_id)
    finally:
        _explicit.reset(token)


def current_trace_id() -> str | None:
    """The explicit ``trace()`` id if any, else that of the task running in this thread."""
    running = _running.get()
    return _explicit.get() or (running.trace_id if running else None)


# version-traceid-parentid-flags; an all-zero trace id is invalid (W3C Trace Context, 3.2.2.3)
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-(?!0{32})([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def traceparent_trace_id(headers: dict[str, Any]) -> str | None:
    """The trace id of a W3C ``traceparent`` among a message's headers (or its custom ``headers``), if valid."""
    value = headers.get("traceparent")
    if value is None and type(headers.get("headers")) is dict:
        value = headers["headers"].get("traceparent")
    found = _TRACEPARENT.match(value.strip().lower()) if isinstance(value, str) else None
    return found.group(1) if found else None


def running() -> Running | None:
    return _running.get()


def set_running(trace_id: str | None, task_id: str | None, parent_id: str | None) -> contextvars.Token[Running | None]:
    return _running.set(Running(trace_id, task_id, parent_id))


def clear_running(token: contextvars.Token[Running | None] | None) -> None:
    if token is None:
        _running.set(None)
        return
    try:
        _running.reset(token)
    except ValueError:  # reset from another context (a pool thread): just clear
        _running.set(None)
