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

from stemtrace.celery.context import HEADER, PARENT_HEADER
from stemtrace.celery.scrub import FILTERED, Scrubber, mask
from stemtrace.celery.serialize import field_value, to_jsonable
from stemtrace.config import StemtraceConfig

_second: tuple[int, str] = (-1, "")  # (a Unix second, its text): one tuple, so threads never see a torn pair


def now_iso() -> str:
    """Current time as ISO-8601 UTC with microseconds and ``Z``: ``2025-01-31T12:00:00.123456Z``.

    The text up to the second is formatted once per second: building and formatting a ``datetime`` per
    event cost about as much as the rest of a publish event."""
    global _second
    sec, micros = divmod(time.time_ns() // 1000, 1_000_000)
    cached = _second
    if cached[0] != sec:
        cached = _second = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return f"{cached[1]}.{micros:06d}Z"


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
    """Turns args/kwargs/results/exceptions into capped, scrubbed JSON values for one configuration."""

    def __init__(self, config: StemtraceConfig) -> None:
        self.config = config
        self.scrubber = Scrubber(config.additional_sensitive_keys, config.safe_keys, config.scrub_sensitive_data)
        self.max = config.max_data_size
        self._sensitive: dict[str, frozenset[int]] = {}  # task name -> positions of its sensitive parameters

    def _value(self, value: Any) -> Any:
        return field_value(value, self.scrubber, self.max)

    def sensitive_positions(self, task: Any) -> frozenset[int]:
        """Positions of ``task``'s parameters whose names are sensitive, cached per task name."""
        name = getattr(task, "name", None)
        hit = self._sensitive.get(name) if isinstance(name, str) else None
        if hit is None:
            hit = frozenset(i for i, n in enumerate(parameter_names(task)) if self.scrubber.is_sensitive(n))
            if isinstance(name, str):
                self._sensitive[name] = hit
        return hit

    def args(self, args: Any, task: Any = None) -> list[Any] | None:
        """Positional arguments; those whose parameter name is sensitive (``task`` known) are filtered."""
        if not self.config.capture_args or args is None:
            return None
        values = list(args) if isinstance(args, (list, tuple)) else [args]
        if task is not None and self.scrubber.enabled:
            for i in self.sensitive_positions(task):
                if i < len(values):
                    values[i] = FILTERED
        out = self._value(values)
        return out if isinstance(out, list) else [out]

    def kwargs(self, kwargs: Any) -> dict[str, Any] | None:
        if not self.config.capture_args or kwargs is None:
            return None
        mapping = type(kwargs) is dict or isinstance(kwargs, Mapping)  # the exact type first: ABC checks cost more
        out = self._value(kwargs if mapping else {"<kwargs>": kwargs})
        return out if isinstance(out, dict) else {"_truncated": out}

    def result(self, result: Any) -> Any:
        return self._value(result) if self.config.capture_result else None

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


def task_event(state: str, task_id: str, name: str | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """One task event: the identity fields always present, the rest of ``fields`` only when known."""
    event: dict[str, Any] = {
        "task_id": task_id,
        "name": name,
        "state": state,
        "timestamp": now_iso(),
        "retries": 0,
        "trace_id": None,
        "parent_id": None,
        "root_id": None,
    }
    for key, value in fields.items():
        if value is not None:
            event[key] = value
    event["retries"] = event["retries"] or 0  # Celery may say None or ""
    if event["trace_id"] is None:
        event["trace_id"] = event["root_id"] or task_id
    return event


def request_fields(request: Any) -> dict[str, Any]:
    """Identity and links from a worker ``Request``, a task's ``request`` context or message headers."""
    raw = request if isinstance(request, dict) else _get(request, "request_dict")
    raw = raw if isinstance(raw, Mapping) else {}
    group = _get(request, "group")
    chord = _get(request, "chord") or raw.get("chord")
    retries = _get(request, "retries")
    fields = {
        "parent_id": real_parent(request, _get(request, "parent_id"), _get(request, "id")),
        "root_id": _get(request, "root_id"),
        "group_id": group,
        "retries": raw.get("retries") if retries is None else retries,
        "trace_id": header_of(request, HEADER),
        "eta": iso(_get(request, "eta")),
    }
    if chord:
        fields.update(chord_links(chord))
        fields["chord_id"] = group
    delivery = _get(request, "delivery_info") or {}
    if isinstance(delivery, Mapping):
        fields["queue"] = delivery.get("routing_key") if delivery.get("exchange") in ("", None) else None
        fields["routing_key"] = delivery.get("routing_key")
    return fields


def real_parent(request: Any, parent_id: str | None, task_id: str | None) -> str | None:
    """Celery gives a retried task itself as parent; our header remembers the real one."""
    if parent_id and parent_id == task_id:
        return header_of(request, PARENT_HEADER)
    return parent_id


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


def publish_event(
    payloads: Payloads,
    *,
    headers: Mapping[str, Any],
    body: Any,
    routing_key: str | None,
    queue: str | None,
    task: Any = None,
) -> dict[str, Any] | None:
    """The PENDING event of one publish, from the protocol-2 message.

    ``task`` (the registered task object, when this process knows it) lets positional arguments be
    scrubbed by parameter name.
    """
    task_id = headers.get("id")
    if not task_id:
        return None
    args = kwargs = embed = None
    if isinstance(body, (list, tuple)) and len(body) == 3:
        args, kwargs, embed = body
    fields: dict[str, Any] = {
        "parent_id": real_parent(headers, headers.get("parent_id"), task_id),
        "root_id": headers.get("root_id"),
        "group_id": headers.get("group"),
        "retries": headers.get("retries"),
        "trace_id": headers.get(HEADER),
        "eta": iso(headers.get("eta")),
        "queue": queue,
        "routing_key": routing_key,
        "args": payloads.args(args, task),
        "kwargs": payloads.kwargs(kwargs),
    }
    chord = embed.get("chord") if type(embed) is dict or isinstance(embed, Mapping) else None
    if chord:
        fields.update(chord_links(chord))
        fields["chord_id"] = headers.get("group")
    return task_event("PENDING", task_id, headers.get("task"), fields)
