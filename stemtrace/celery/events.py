"""Build wire-format event objects (DESIGN §3) from what Celery hands the signal handlers.

Pure functions of their inputs plus the clock: no transport, no global state. Fields whose value is
unknown are left out (readers default them), except the identity fields every task event carries.
"""

from __future__ import annotations

import datetime as dt
import inspect
import time
from collections.abc import Collection, Mapping
from typing import Any

import orjson
from celery.app.task import Context

from stemtrace.celery.context import HEADER, PARENT_HEADER
from stemtrace.celery.scrub import FILTERED, Scrubber, mask
from stemtrace.celery.serialize import field_json, to_jsonable
from stemtrace.config import StemtraceConfig

# (a Unix second, its text, the same as bytes): one tuple, so threads never see a torn set
_second: tuple[int, str, bytes] = (-1, "", b"")


def _second_text(sec: int) -> tuple[int, str, bytes]:
    """``sec`` as ISO-8601 UTC text up to the second, formatted once per second: building and formatting a
    ``datetime`` per event cost about as much as the rest of a publish event."""
    global _second
    cached = _second
    if cached[0] != sec:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        cached = _second = (sec, text, text.encode())
    return cached


def now_iso() -> str:
    """Current time as ISO-8601 UTC with microseconds and ``Z``: ``2025-01-31T12:00:00.123456Z``."""
    sec, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return f"{_second_text(sec)[1]}.{micros:06d}Z"


def iso(value: Any) -> str | None:
    """An ETA or similar as ISO-8601 UTC text (Celery gives ISO strings or datetimes)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, str):
        try:
            return iso(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    return str(value)


_PARAMS: dict[str, tuple[str, ...]] = {}


def parameter_names(task: Any) -> tuple[str, ...]:
    """Names of a task's positional parameters (``self`` of bound tasks excluded), cached per task name."""
    name = getattr(task, "name", None)
    cached = _PARAMS.get(name) if isinstance(name, str) else None
    if cached is not None:
        return cached
    names: tuple[str, ...] = ()
    try:
        params = inspect.signature(task.run).parameters.values()
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = tuple(p.name for p in params if p.kind in kinds)
    except Exception:
        pass
    if isinstance(name, str):
        _PARAMS[name] = names
    return names


class Payloads:
    """Turns args/kwargs/results/exceptions into capped, scrubbed JSON for one configuration."""

    def __init__(self, config: StemtraceConfig) -> None:
        self.config = config
        self.scrubber = Scrubber(config.additional_sensitive_keys, config.safe_keys, config.scrub_sensitive_data)
        self.max = config.max_data_size
        self._sensitive: dict[str, frozenset[int]] = {}  # task name -> positions of its sensitive parameters
        from stemtrace._engine import PendingEvents  # here, not at import: importing stemtrace stays light

        self.pending = PendingEvents(config.max_data_size, config.capture_args, self.scrubber.is_sensitive)

    def _json(self, value: Any) -> bytes:
        return field_json(value, self.scrubber, self.max)

    def sensitive_positions(self, task: Any) -> frozenset[int]:
        """Positions of ``task``'s parameters whose names are sensitive, cached per task name."""
        name = getattr(task, "name", None)
        hit = self._sensitive.get(name) if isinstance(name, str) else None
        if hit is None:
            hit = frozenset(i for i, n in enumerate(parameter_names(task)) if self.scrubber.is_sensitive(n))
            if isinstance(name, str):
                self._sensitive[name] = hit
        return hit

    def args(self, args: Any, task: Any = None) -> bytes | None:
        """Positional arguments as a JSON list; those whose parameter name is sensitive (``task`` known) are
        filtered."""
        if not self.config.capture_args or args is None:
            return None
        values = list(args) if isinstance(args, (list, tuple)) else [args]
        if task is not None and self.scrubber.enabled:
            for i in self.sensitive_positions(task):
                if i < len(values):
                    values[i] = FILTERED
        out = self._json(values)
        return out if out[:1] == b"[" else b"[" + out + b"]"  # a truncated list comes back as a string

    def kwargs(self, kwargs: Any) -> bytes | None:
        """Keyword arguments as a JSON object."""
        if not self.config.capture_args or kwargs is None:
            return None
        if type(kwargs) is dict and not kwargs:  # the most common keyword arguments: none
            return b"{}"
        mapping = type(kwargs) is dict or isinstance(kwargs, Mapping)  # the exact type first: ABC checks cost more
        out = self._json(kwargs if mapping else {"<kwargs>": kwargs})
        return out if out[:1] == b"{" else b'{"_truncated":' + out + b"}"

    def call(self, args: Any, kwargs: Any, task: Any = None) -> bytes:
        """The ``args`` and ``kwargs`` members of an event (see :func:`task_event`), those captured."""
        captured_args, captured_kwargs = self.args(args, task), self.kwargs(kwargs)
        if captured_args is not None and captured_kwargs is not None:  # the usual case, in one step
            return b',"args":%b,"kwargs":%b' % (captured_args, captured_kwargs)
        return member(b"args", captured_args) + member(b"kwargs", captured_kwargs)

    def result(self, result: Any) -> bytes | None:
        """A task's return value as JSON; None when not captured or when the task returned None."""
        if not self.config.capture_result or result is None:
            return None
        out = self._json(result)
        return None if out == b"null" else out

    def secrets(self, args: Any, kwargs: Any, task: Any = None) -> set[str]:
        """The secret values among a call's arguments, to mask in its exception text and traceback."""
        if not self.scrubber.enabled:
            return set()
        found = self.scrubber.secret_values(kwargs) if isinstance(kwargs, Mapping) else set()
        values = list(args) if isinstance(args, (list, tuple)) else []
        positions = self.sensitive_positions(task) if task is not None else frozenset()
        for i, value in enumerate(values):
            found |= self.scrubber.secret_values(value, i in positions)
        return found

    def text(self, text: Any, *, keep_tail: bool = False) -> str | None:
        """Free text (traceback, output), cut to ``max_data_size`` characters; tracebacks keep their end."""
        if text is None:
            return None
        if not isinstance(text, str):
            text = to_jsonable(text, max_string=self.max)
            text = text if isinstance(text, str) else str(text)
        if len(text) <= self.max:
            return text
        cut = len(text) - self.max
        if keep_tail:
            return f"[truncated {cut} chars] …{text[-self.max :]}"
        return f"{text[: self.max]}… [truncated {cut} chars]"


def exception_fields(
    exc: Any, payloads: Payloads, traceback: Any = None, secrets: Collection[str] = ()
) -> dict[str, Any]:
    """``exception`` ("Type: message"), ``exception_type`` and ``traceback`` of an exception or a reason,
    with ``secrets`` (the call's sensitive argument values) masked in the text."""
    if exc is None:
        return {"traceback": payloads.text(mask(str(traceback), secrets), keep_tail=True)} if traceback else {}
    if isinstance(exc, BaseException):
        name = type(exc).__name__
        try:
            message = str(exc)
        except Exception:
            message = "<unprintable message>"
        text = f"{name}: {message}" if message else name
    else:  # a retry reason given as text
        name, text = None, str(exc)
    out: dict[str, Any] = {"exception": payloads.text(mask(text, secrets)), "exception_type": name}
    if traceback:
        out["traceback"] = payloads.text(mask(str(traceback), secrets), keep_tail=True)
    return out


def chord_links(chord: Any) -> dict[str, Any]:
    """``chord_callback_id`` and ``chord_body_first_id`` from a header task's ``chord`` (the body signature).

    For a chain body the callback id Celery freezes is the chain's *last* task; the first task that
    runs after the header is the chain's first, which is what ``chord_body_first_id`` names.
    """
    if not chord:
        return {}
    opts = _get(chord, "options") or {}
    callback_id = _get(opts, "task_id")
    first = chord
    for _ in range(8):  # nested chains: descend to the first task that actually runs
        if _get(first, "task") != "celery.chain" and _get(first, "subtask_type") != "chain":
            break
        tasks = _get(_get(first, "kwargs") or {}, "tasks") or _get(first, "tasks")
        if not tasks:
            break
        first = tasks[0]
    first_id = _get(_get(first, "options") or {}, "task_id") or callback_id
    out: dict[str, Any] = {}
    if callback_id:
        out["chord_callback_id"] = callback_id
    if first_id:
        out["chord_body_first_id"] = first_id
    return out


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if type(obj) is dict:  # the common case first: ABC checks cost more than the lookup
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None and _is_mapping(type(obj)):
        return obj.get(name)
    return value


_MAPPING_TYPES: dict[type, bool] = {}


def _is_mapping(t: type) -> bool:
    hit = _MAPPING_TYPES.get(t)
    if hit is None:
        hit = _MAPPING_TYPES[t] = issubclass(t, Mapping)
    return hit


_STATE_LEADS = {
    state: b',"state":"%b","timestamp":"' % state.encode()
    for state in ("PENDING", "RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED")
}


def task_event(state: str, identity: bytes, extra: bytes = b"") -> bytes:
    """One task event as the wire carries it: ``identity`` (a task's :func:`request_fields` as :func:`encode`
    made them) with the ``state``, the current time and ``extra`` (members each led by a comma) added.

    Joined from bytes: a worker encodes a task's identity once for all its events, and each payload field
    is encoded once, by its size cap."""
    sec, micros = divmod(time.time_ns() // 1000, 1_000_000)
    second = _second if _second[0] == sec else _second_text(sec)
    lead = _STATE_LEADS.get(state) or b',"state":%b,"timestamp":"' % orjson.dumps(state)
    return b"".join((identity[:-1], lead, second[2], b'.%06dZ"' % micros, extra, b"}"))


def encode(fields: Mapping[str, Any]) -> bytes:
    """``fields`` as a JSON object; a value JSON cannot hold becomes its ``repr`` rather than losing the event."""
    try:
        return orjson.dumps(fields, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return orjson.dumps(fields, default=repr, option=orjson.OPT_NON_STR_KEYS)


def member(name: bytes, value: bytes | None) -> bytes:
    """One more member for :func:`task_event`: ``,"name":value`` (``value`` already JSON), nothing for None."""
    return b',"%b":%b' % (name, value) if value is not None else b""


def members(fields: Mapping[str, Any]) -> bytes:
    """``fields`` whose value is known as more members for :func:`task_event`, each led by a comma."""
    known = {key: value for key, value in fields.items() if value is not None}
    return b"," + encode(known)[1:-1] if known else b""


def request_fields(request: Any, task_id: Any, name: Any) -> dict[str, Any]:
    """A task's identity and links from a worker ``Request``, a task's ``request`` context or message headers:
    ``task_id``, ``name``, ``retries``, ``trace_id``, ``parent_id`` and ``root_id`` always, the rest when known."""
    view, chord, eta = _request_view(request)
    queue, routing_key = _route(view.get("delivery_info"))
    trace_id = view.get(HEADER) or header_of(view, HEADER)  # where our stamp puts it, else wherever it is
    return _fields(task_id, name, view, trace_id=trace_id, chord=chord, eta=eta, queue=queue, routing_key=routing_key)


def _request_view(request: Any) -> tuple[Mapping[str, Any], Any, Any]:
    """(a dict holding the request's fields, its chord, its ETA), read the cheapest way its type allows."""
    kind = type(request)
    if kind is dict:  # message headers
        view = request
    elif kind is Context:  # a task's request where it runs: every field is an instance attribute
        view = request.__dict__
    else:
        view = getattr(request, "_request_dict", None)
        if type(view) is dict:  # a worker's Request: its message headers plus delivery info
            return view, _worker_request_chord(request) or view.get("chord"), getattr(request, "eta", None)
        view = _attributes(request)
    return view, view.get("chord"), view.get("eta")


def _worker_request_chord(request: Any) -> Any:
    """A worker Request's chord, from the decoded body it was built with: its ``chord`` property (what
    this falls back to) goes through two cached properties that each take a lock on every access."""
    payload = getattr(request, "_Request__payload", None)  # (args, kwargs, embed)
    if type(payload) in (list, tuple) and len(payload) == 3 and type(payload[2]) is dict:
        return payload[2].get("chord")
    return getattr(request, "chord", None)


def _attributes(request: Any) -> dict[str, Any]:
    """The fields of a request-like object of another kind, attribute by attribute; ``retries`` and ``chord``
    also from its ``request_dict``, our headers wherever it keeps them."""
    raw = _get(request, "request_dict")
    raw = raw if isinstance(raw, Mapping) else {}
    retries = _get(request, "retries")
    return {
        "parent_id": _get(request, "parent_id"),
        "root_id": _get(request, "root_id"),
        "group": _get(request, "group"),
        "retries": raw.get("retries") if retries is None else retries,
        "chord": _get(request, "chord") or raw.get("chord"),
        "eta": _get(request, "eta"),
        "delivery_info": _get(request, "delivery_info"),
        HEADER: header_of(request, HEADER),
        PARENT_HEADER: header_of(request, PARENT_HEADER),
    }


def _route(delivery: Any) -> tuple[str | None, str | None]:
    """(queue, routing key) of a delivery: the routing key names the queue when the exchange is the default one."""
    if type(delivery) is not dict and not isinstance(delivery, Mapping):
        return None, None
    routing_key = delivery.get("routing_key")
    return (routing_key if delivery.get("exchange") in ("", None) else None), routing_key


def _fields(
    task_id: Any, name: Any, view: Mapping[str, Any], *, trace_id: Any, chord: Any, eta: Any, queue: Any,
    routing_key: Any,
) -> dict[str, Any]:  # fmt: skip
    """The identity fields every task event carries, then the links known (``view`` holds ``parent_id``,
    ``root_id``, ``group``, ``retries`` and our parent header). A flow's trace id defaults to its root."""
    root_id = view.get("root_id")
    group = view.get("group")
    parent_id = view.get("parent_id")
    if parent_id and parent_id == task_id:  # Celery gives a retried task itself as parent; our header remembers
        parent_id = header_of(view, PARENT_HEADER)
    fields = {
        "task_id": task_id,
        "name": name,
        "retries": view.get("retries") or 0,  # Celery may say None or ""
        "trace_id": (root_id or task_id) if trace_id is None else trace_id,
        "parent_id": parent_id,
        "root_id": root_id,
    }
    if group is not None:
        fields["group_id"] = group
    eta = iso(eta) if eta is not None else None
    if eta is not None:
        fields["eta"] = eta
    if chord:
        fields.update(chord_links(chord))
        if group is not None:
            fields["chord_id"] = group
    if queue is not None:
        fields["queue"] = queue
    if routing_key is not None:
        fields["routing_key"] = routing_key
    return fields


def header_of(request: Any, name: str) -> str | None:
    """One of our headers, wherever this Celery version keeps custom headers on a request."""
    value = _get(request, name)
    if value:
        return value
    for holder in ("headers", "_request_dict", "request_dict"):
        headers = _get(request, holder)
        if isinstance(headers, Mapping):
            value = headers.get(name)
            if value:
                return value
            nested = headers.get("headers")
            if isinstance(nested, Mapping) and nested.get(name):
                return nested[name]
    return None


_NO_POSITIONS: frozenset[int] = frozenset()


def publish_event(
    payloads: Payloads, headers: Mapping[str, Any], body: Any, routing_key: str | None, queue: str | None,
    task: Any = None,
) -> bytes | None:  # fmt: skip
    """The PENDING event of one publish, from the protocol-2 message.

    ``task`` (the registered task object, when this process knows it) lets positional arguments be
    scrubbed by parameter name. The common case is built natively (``stemtrace._engine.PendingEvents``,
    rust/py/src/capture.rs), everything else by :func:`build_publish_event`, whose output it equals.
    """
    positions = payloads.sensitive_positions(task) if task is not None and payloads.scrubber.enabled else _NO_POSITIONS
    event = payloads.pending.build(headers, body, routing_key, queue, positions)
    return event if event is not None else build_publish_event(payloads, headers, body, routing_key, queue, task)


def build_publish_event(
    payloads: Payloads, headers: Mapping[str, Any], body: Any, routing_key: str | None, queue: str | None,
    task: Any = None,
) -> bytes | None:  # fmt: skip
    """:func:`publish_event` in Python, for every message: the reference the native builder must equal."""
    task_id = headers.get("id")
    if not task_id:
        return None
    args = kwargs = embed = None
    if isinstance(body, (list, tuple)) and len(body) == 3:
        args, kwargs, embed = body
    chord = embed.get("chord") if type(embed) is dict or isinstance(embed, Mapping) else None
    fields = _fields(
        task_id, headers.get("task"), headers, trace_id=headers.get(HEADER), chord=chord, eta=headers.get("eta"),
        queue=queue, routing_key=routing_key,
    )  # fmt: skip
    return task_event("PENDING", encode(fields), payloads.call(args, kwargs, task))
