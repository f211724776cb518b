"""Celery signal handlers: each turns one signal into one event and hands it to the transport.

Every handler is guarded: whatever goes wrong in here is logged at debug level and swallowed — observing a
task must never change what the task does. Most are wrapped by :func:`_guard`; the few that run for every
task or publish guard themselves inline, as the wrapper's extra call cost about as much as their own work.

Where signals fire: publish signals in whichever process sends (web app, beat, a worker sending children,
chain continuations, chord callbacks, retries); ``task_received``/``task_revoked``/``task_unknown`` and the
worker lifecycle in the worker's main process; the ``task_*run``/outcome signals where the task runs (a
prefork child, or the main process with ``--pool solo``).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from threading import get_ident
from typing import Any

import orjson
from celery import signals as cs

from stemtrace.celery import context, output, runtime
from stemtrace.celery.events import (
    encode,
    exception_fields,
    member,
    members,
    now_iso,
    publish_event,
    request_fields,
    task_event,
)
from stemtrace.celery.worker import PROCESS_HEARTBEAT, Heartbeat, worker_event

log = logging.getLogger("stemtrace")

_heartbeat: Heartbeat | None = None
_process_heartbeat: Heartbeat | None = None
_hostname: str | None = None  # the worker's nodename, known before the pool forks its children
# (task id, thread) -> (contextvar token of its trace id, its encoded identity at prerun), until its postrun.
# The thread is part of the key: in a threads pool a retry of a task can start in another thread before the
# attempt that published it has sent its RETRY event.
_started: dict[tuple[str, int], tuple[Any, bytes]] = {}


def _guard(fn: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        if runtime.current() is None:
            return
        try:
            fn(*args, **kwargs)
        except Exception:
            _failed(fn.__name__)

    return wrapper


def _failed(handler: str) -> None:
    """Called in an ``except`` block: the handler's failure is logged quietly and goes no further."""
    log.debug("stemtrace: %s handler failed", handler, exc_info=True)


def _payloads() -> Any:
    rt = runtime.current()
    assert rt is not None
    return rt.payloads


# --------------------------------------------------------------------------- publishing side


def _canvas_group(headers: dict[str, Any], body: Any) -> str | None:
    """The group a message belongs to, directly or through the rest of its chain.

    In a group of chains Celery puts the group id only on each chain's *last* task; the first task's
    message carries the remaining steps in ``body[2]["chain"]``, so the group is found there.
    """
    if headers.get("group"):
        return headers["group"]
    embed = body[2] if isinstance(body, (list, tuple)) and len(body) == 3 else None
    steps = embed.get("chain") if isinstance(embed, dict) else None
    for step in steps or ():
        opts = step.get("options") if isinstance(step, dict) else getattr(step, "options", None)
        if isinstance(opts, dict) and (opts.get("group_id") or opts.get("group")):
            return opts.get("group_id") or opts.get("group")
    return None


def on_before_publish(sender: Any = None, headers: dict[str, Any] | None = None, body: Any = None, **_: Any) -> None:
    """Stamp the trace id header so it travels with the message to every descendant."""
    if headers is None or runtime.current() is None:
        return
    try:
        _stamp_trace(headers, body)
    except Exception:
        _failed("on_before_publish")


def _stamp_trace(headers: dict[str, Any], body: Any) -> None:
    task_id = headers.get("id")
    running = context.running()
    is_retry = running is not None and task_id and task_id == running.task_id == headers.get("parent_id")
    if is_retry and running.parent_id and running.parent_id != task_id:  # remember the real parent
        headers[context.PARENT_HEADER] = running.parent_id
    if headers.get(context.HEADER):
        return
    trace_id = context.current_trace_id() or context.traceparent_trace_id(headers)
    if not trace_id:
        # Outside any task: a flow's id is its root; members of a group/chord (or chains in a group)
        # published together share the group id (each is its own root in Celery's headers).
        root_id = headers.get("root_id")
        trace_id = root_id if root_id and root_id != task_id else (_canvas_group(headers, body) or task_id)
    if trace_id:
        headers[context.HEADER] = trace_id


def on_after_publish(
    sender: Any = None, body: Any = None, headers: dict[str, Any] | None = None, exchange: Any = None,
    routing_key: str | None = None, **_: Any,
) -> None:  # fmt: skip
    rt = runtime.current()
    if not headers or rt is None:
        return
    try:
        tasks = getattr(rt.app, "_tasks", None)  # "tasks" would finalize the app
        task = tasks.get(headers.get("task")) if isinstance(tasks, dict) else None
        queue = routing_key if not exchange else None
        event = publish_event(rt.payloads, headers, body, routing_key, queue, task)
        if event is not None:
            rt.transport.send_bytes(event)
    except Exception:
        _failed("on_after_publish")


# --------------------------------------------------------------------------- worker main process


def _identity(fields: dict[str, Any], hostname: Any, pid: int | None = None) -> bytes:
    """A task's :func:`request_fields` with where it is (worker hostname, process id, when known), encoded."""
    if hostname is not None:
        fields["hostname"] = hostname
    if pid is not None:
        fields["pid"] = pid
    return encode(fields)


def on_received(sender: Any = None, request: Any = None, **_: Any) -> None:
    rt = runtime.current()
    if request is None or rt is None:
        return
    try:
        fields = request_fields(request, request.id, getattr(request, "name", None))
        identity = _identity(fields, getattr(request, "hostname", None), os.getpid())
        rt.transport.send_bytes(task_event("RECEIVED", identity))
    except Exception:
        _failed("on_received")


@_guard
def on_revoked(sender: Any = None, request: Any = None, terminated: Any = None, signum: Any = None,
               expired: Any = None, **_: Any) -> None:  # fmt: skip
    if request is None:
        return
    reason = "expired" if expired else ("terminated" if terminated else "revoked")
    name = getattr(request, "name", None) or getattr(sender, "name", None)
    identity = _identity(request_fields(request, request.id, name), getattr(request, "hostname", None))
    extra = members({"exception": f"Revoked: {reason}", "exception_type": "TaskRevokedError"})
    runtime.emit(task_event("REVOKED", identity, extra))


@_guard
def on_unknown(sender: Any = None, name: str | None = None, id: str | None = None, message: Any = None,
               exc: Any = None, **_: Any) -> None:  # fmt: skip
    headers = getattr(message, "headers", None) or {}
    task_id = id or headers.get("id")
    if not task_id:
        return
    fields = request_fields(headers, task_id, name or headers.get("task"))
    extra = members(
        {"exception": f"NotRegistered: received unregistered task {name!r}", "exception_type": "NotRegistered"}
    )
    runtime.emit(task_event("REJECTED", _identity(fields, getattr(sender, "hostname", None)), extra))


@_guard
def on_rejected(sender: Any = None, message: Any = None, exc: Any = None, **_: Any) -> None:
    headers = getattr(message, "headers", None) or {}
    task_id = headers.get("id")
    if not task_id:
        return
    identity = encode(request_fields(headers, task_id, headers.get("task")))
    runtime.emit(task_event("REJECTED", identity, members(exception_fields(exc, _payloads()))))


# --------------------------------------------------------------------------- where the task runs


def _task_identity(task: Any, task_id: Any, request: Any = None) -> bytes:
    """A running task's encoded identity, links, hostname and pid. Encoded at prerun and reused for its outcome,
    as the request does not change while the task runs; read now for a task that did not start here (a
    worker's main process reporting a lost child)."""
    started = _started.get((task_id, get_ident())) if task_id else None
    if started is not None:
        return started[1]
    request = request if request is not None else getattr(task, "request", None)
    return _identity(request_fields(request, task_id, getattr(task, "name", None)),
                     getattr(request, "hostname", None), os.getpid())  # fmt: skip


def _output(task_id: Any) -> bytes:
    """The ``output`` member: what the task printed, when output is captured."""
    text = output.stop(task_id)
    return member(b"output", orjson.dumps(text)) if text is not None else b""


def on_prerun(sender: Any = None, task_id: str | None = None, task: Any = None, args: Any = None,
              kwargs: Any = None, **_: Any) -> None:  # fmt: skip
    rt = runtime.current()
    if rt is None:
        return
    try:
        task = task or sender
        request = getattr(task, "request", None)
        fields = request_fields(request, task_id, task.name)
        token = context.set_running(fields["trace_id"], task_id, fields["parent_id"])
        identity = _identity(fields, getattr(request, "hostname", None), os.getpid())
        if task_id:
            _started[task_id, get_ident()] = (token, identity)
        if rt.config.capture_output:
            output.start(task_id, rt.config.max_data_size)
        rt.transport.send_bytes(task_event("STARTED", identity, rt.payloads.call(args, kwargs, task)))
    except Exception:
        _failed("on_prerun")


@_guard
def on_failure(sender: Any = None, task_id: str | None = None, exception: Any = None, args: Any = None,
               kwargs: Any = None, einfo: Any = None, **_: Any) -> None:  # fmt: skip
    extra = _output(task_id)
    _emit_exception("FAILURE", sender, task_id, _task_identity(sender, task_id), extra, exception, einfo, args, kwargs)


@_guard
def on_retry(sender: Any = None, request: Any = None, reason: Any = None, einfo: Any = None, **_: Any) -> None:
    if request is None:
        return
    identity, extra = _task_identity(sender, request.id, request), _output(request.id)
    exc = getattr(reason, "exc", None) or reason
    args, kwargs = getattr(request, "args", None), getattr(request, "kwargs", None)
    _emit_exception("RETRY", sender, request.id, identity, extra, exc, einfo, args, kwargs)


@_guard
def on_internal_error(sender: Any = None, task_id: str | None = None, exception: Any = None, args: Any = None,
                      kwargs: Any = None, einfo: Any = None, **_: Any) -> None:  # fmt: skip
    identity = _task_identity(sender, task_id)
    _emit_exception("FAILURE", sender, task_id, identity, b"", exception, einfo, args, kwargs)


def _emit_exception(state: str, sender: Any, task_id: str | None, identity: bytes, extra: bytes, exception: Any,
                    einfo: Any, args: Any, kwargs: Any) -> None:  # fmt: skip
    """A FAILURE or RETRY event: the exception and traceback, with the task's secret arguments masked."""
    payloads = _payloads()
    secrets = payloads.secrets(args, kwargs, sender)
    fields = exception_fields(exception, payloads, getattr(einfo, "traceback", None), secrets)
    runtime.emit(task_event(state, identity, extra + members(fields)))


def on_postrun(sender: Any = None, task_id: str | None = None, task: Any = None, retval: Any = None,
               state: str | None = None, **_: Any) -> None:  # fmt: skip
    """The outcomes this signal is the one to tell (SUCCESS, REJECTED, IGNORED); then the task is forgotten.

    SUCCESS comes from here rather than from ``task_success``, which Celery sends just before with the same
    result: one signal fewer to dispatch per task, and the task id comes with this one."""
    rt = runtime.current()
    if rt is None:
        return
    try:
        if state == "SUCCESS":
            extra = member(b"result", rt.payloads.result(retval)) + _output(task_id)
            rt.transport.send_bytes(task_event("SUCCESS", _task_identity(task or sender, task_id), extra))
        else:
            _other_outcome(task or sender, task_id, retval, state)
    except Exception:
        _failed("on_postrun")
    finally:
        started = _started.pop((task_id, get_ident()), None)
        context.clear_running(started[0] if started is not None else None)


def _other_outcome(task: Any, task_id: str | None, retval: Any, state: str | None) -> None:
    """REJECTED and IGNORED (not a ``task.replace()``); for the outcomes other signals told, the output capture
    just ends."""
    if state == "IGNORED" and _is_replace(retval):
        output.stop(task_id)  # task.replace(): the id lives on in the replacement, nothing ended here
    elif state in ("REJECTED", "IGNORED"):
        identity = _task_identity(task, task_id)
        extra = _output(task_id)
        if isinstance(retval, BaseException):
            payloads, request = _payloads(), getattr(task, "request", None)
            secrets = payloads.secrets(getattr(request, "args", None), getattr(request, "kwargs", None), task)
            extra += members(exception_fields(retval, payloads, secrets=secrets))
        runtime.emit(task_event(state, identity, extra))
    else:
        output.stop(task_id)


def _is_replace(retval: Any) -> bool:
    return type(retval).__name__ == "Ignore" and "Replaced by new task" in str(retval)


# --------------------------------------------------------------------------- worker lifecycle


def _transport_counters() -> dict[str, int] | None:
    """This process's transport counters, carried by worker events so drops show in the server's health."""
    rt = runtime.current()
    return rt.transport.stats() if rt is not None else None


def _heartbeat_interval() -> float:
    rt = runtime.current()
    return rt.config.heartbeat_interval if rt else 30.0


@_guard
def on_celeryd_init(sender: Any = None, **_: Any) -> None:
    global _hostname
    _hostname = sender if isinstance(sender, str) else None


@_guard
def on_worker_ready(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    hostname = getattr(sender, "hostname", None)
    app = getattr(sender, "app", None) or runtime.current().app  # type: ignore[union-attr]
    interval = _heartbeat_interval()
    runtime.emit(
        worker_event("worker_ready", hostname, app, heartbeat_interval=interval, transport=_transport_counters())
    )
    if _heartbeat is not None:
        _heartbeat.stop()

    def beat() -> None:
        counters = _transport_counters()
        runtime.emit(worker_event("worker_heartbeat", hostname, app, heartbeat_interval=interval, transport=counters))

    _heartbeat = Heartbeat(interval, beat).start()


@_guard
def on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat = None
    hostname = getattr(sender, "hostname", None)
    runtime.emit(worker_event("worker_shutdown", hostname, shutdown_time=now_iso(), transport=_transport_counters()))
    rt = runtime.current()
    if rt is not None:
        rt.transport.flush(rt.config.flush_timeout)


@_guard
def on_worker_shutting_down(sender: Any = None, how: str | None = None, **_: Any) -> None:
    """A cold shutdown cancels running tasks and exits without ``worker_shutdown``: say goodbye now.

    Not on a warm shutdown: the worker still finishes its tasks and sends ``worker_shutdown`` after.
    """
    if how == "Cold":
        hostname = sender if isinstance(sender, str) else _hostname
        runtime.emit(
            worker_event("worker_terminating", hostname, shutdown_time=now_iso(), transport=_transport_counters())
        )


def _process_beat() -> None:
    runtime.emit(worker_event(PROCESS_HEARTBEAT, _hostname, transport=_transport_counters()))


@_guard
def on_process_init(**_: Any) -> None:
    """A prefork child: report its own transport counters, which the main process cannot see."""
    global _process_heartbeat
    _process_heartbeat = Heartbeat(_heartbeat_interval(), _process_beat).start()


@_guard
def on_process_shutdown(**_: Any) -> None:
    if _process_heartbeat is not None:
        _process_heartbeat.stop()
        _process_beat()
    rt = runtime.current()
    if rt is not None:
        rt.transport.flush(rt.config.flush_timeout)


_CONNECTIONS: list[tuple[Any, Callable[..., None]]] = [
    (cs.before_task_publish, on_before_publish),
    (cs.after_task_publish, on_after_publish),
    (cs.task_received, on_received),
    (cs.task_revoked, on_revoked),
    (cs.task_unknown, on_unknown),
    (cs.task_rejected, on_rejected),
    (cs.task_prerun, on_prerun),
    (cs.task_failure, on_failure),
    (cs.task_retry, on_retry),
    (cs.task_internal_error, on_internal_error),
    (cs.task_postrun, on_postrun),
    (cs.celeryd_init, on_celeryd_init),
    (cs.worker_process_init, on_process_init),
    (cs.worker_ready, on_worker_ready),
    (cs.worker_shutting_down, on_worker_shutting_down),
    (cs.worker_shutdown, on_worker_shutdown),
    (cs.worker_process_shutdown, on_process_shutdown),
]


def on_test_worker_started(sender: Any = None, worker: Any = None, **_: Any) -> None:
    on_worker_ready(sender=worker)


def on_test_worker_stopped(sender: Any = None, worker: Any = None, **_: Any) -> None:
    on_worker_shutdown(sender=worker)


def _testing_connections() -> list[tuple[Any, Callable[..., None]]]:
    """``celery.contrib.testing.worker.start_worker`` (the in-process demo worker) has its own ready and
    stopped signals instead of ``worker_ready``/``worker_shutdown``. Only hooked when that module is
    already imported, so a production worker never imports Celery's testing code."""
    testing = sys.modules.get("celery.contrib.testing.worker")
    if testing is None:
        return []
    return [
        (testing.test_worker_started, on_test_worker_started),
        (testing.test_worker_stopped, on_test_worker_stopped),
    ]


def connect() -> None:
    """Connect every handler once (idempotent: each has a fixed ``dispatch_uid``)."""
    for signal, handler in [*_CONNECTIONS, *_testing_connections()]:
        signal.connect(handler, weak=False, dispatch_uid=f"stemtrace.{handler.__name__}")


def disconnect() -> None:
    for signal, handler in [*_CONNECTIONS, *_testing_connections()]:
        signal.disconnect(handler, dispatch_uid=f"stemtrace.{handler.__name__}")
