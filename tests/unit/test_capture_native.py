"""The native PENDING builder (rust/py/src/capture.rs) against the Python one, its reference.

For every message the native builder takes, its event must equal the Python builder's: the same members in
the same order with the same values (the timestamp aside). What it declines, the Python builder builds.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from stemtrace.celery import context
from stemtrace.celery.events import Payloads, build_publish_event, publish_event
from stemtrace.config import build_config


def payloads(**kw: Any) -> Payloads:
    return Payloads(build_config(None, env={}, transport_url="memory://", **kw))


def members(event: bytes) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in orjson.loads(event).items() if k != "timestamp"]


def typical_message() -> tuple[dict[str, Any], tuple[Any, Any, Any]]:
    """What ``app.send_task("tasks.add", (2, 3))`` publishes, stamped by our before-publish handler."""
    task_id = str(uuid.uuid4())
    headers = {
        "lang": "py", "task": "tasks.add", "id": task_id, "shadow": None, "eta": None, "expires": None,
        "group": None, "group_index": None, "retries": 0, "timelimit": [None, None], "root_id": task_id,
        "parent_id": None, "argsrepr": "(2, 3)", "kwargsrepr": "{}", "origin": "gen1@host",
        "ignore_result": False, "stamped_headers": None, "stamps": {}, context.HEADER: task_id,
    }  # fmt: skip
    return headers, ((2, 3), {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None})


def test_a_typical_publish_is_built_natively_and_equals_the_reference() -> None:
    p = payloads()
    headers, body = typical_message()
    native = p.pending.build(headers, body, "celery", "celery", frozenset())
    assert native is not None, "the common case must not fall back to Python"
    assert members(native) == members(build_publish_event(p, headers, body, "celery", "celery"))
    event = orjson.loads(native)
    assert event["state"] == "PENDING" and event["args"] == [2, 3] and event["kwargs"] == {}


def test_keyword_arguments_are_scrubbed_by_the_same_rule() -> None:
    p = payloads(additional_sensitive_keys={"customer_email"})
    headers, _ = typical_message()
    body = ((), {"user_password": "x", "customerEmail": "a@b", "passenger": "p", "n": 2}, None)
    native = p.pending.build(headers, body, None, None, frozenset())
    assert native is not None
    assert orjson.loads(native)["kwargs"] == {
        "user_password": "[Filtered]", "customerEmail": "[Filtered]", "passenger": "p", "n": 2,
    }  # fmt: skip
    assert members(native) == members(build_publish_event(p, headers, body, None, None))


def test_sensitive_positions_are_filtered() -> None:
    p = payloads()
    headers, _ = typical_message()
    native = p.pending.build(headers, (("alice", "hunter2"), {}, None), None, None, frozenset({1}))
    assert native is not None and orjson.loads(native)["args"] == ["alice", "[Filtered]"]


def test_what_the_native_builder_declines_the_python_builder_builds() -> None:
    p = payloads(max_data_size=64)
    headers, body = typical_message()
    declined = [
        (dict(headers, eta="2030-01-01T00:00:00+00:00"), body),  # an ETA to normalise
        (headers, ((1,), {}, {"chord": {"task": "cb", "options": {"task_id": "cb-1"}}})),  # a chord header
        (dict(headers, parent_id=headers["id"]), body),  # a retry: the parent is in our header
        (headers, ((1.5,), {}, None)),  # a float
        (headers, (("x" * 100,), {}, None)),  # over the size cap: a truncation note
        (headers, ((b"raw",), {}, None)),  # bytes: a stand-in
        (headers, (({"nested": 1},), {}, None)),  # a nested value
        (headers, ((), {1: "int key"}, None)),  # a key that is not text
        (headers, (("\ud800",), {}, None)),  # a lone surrogate
        (dict(headers, id=None), body),  # no id: no event at all
        (headers, [(1,), {}, None]),  # a body that is not a tuple
    ]
    for h, b in declined:
        assert p.pending.build(h, b, None, None, frozenset()) is None, (h.get("eta"), b)
        assert publish_event(p, h, b, None, None) == build_publish_event(p, h, b, None, None) or members(
            publish_event(p, h, b, None, None) or b"{}"
        ) == members(build_publish_event(p, h, b, None, None) or b"{}")


text = st.text(max_size=40)
ids = st.one_of(st.none(), text, st.just(""))
plain = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**64), max_value=2**64), text, st.floats(allow_nan=True)
)
arguments = st.one_of(st.none(), st.tuples(plain, plain), st.lists(plain, max_size=5))
keys = st.one_of(text, st.sampled_from(["token", "apiKey", "n"]))
keywords = st.one_of(st.none(), st.dictionaries(keys, plain, max_size=4))


@settings(max_examples=400, deadline=None)
@given(
    task_id=st.one_of(st.uuids().map(str), st.just("")),
    name=ids, parent=ids, root=ids, group=ids, trace=ids,
    retries=st.one_of(st.none(), st.integers(min_value=0, max_value=5), st.just("")),
    args=arguments, kwargs=keywords, routing_key=ids, queue=ids,
    capture_args=st.booleans(), max_size=st.sampled_from([64, 200, 10_000]),
    positions=st.frozensets(st.integers(min_value=0, max_value=3), max_size=2),
)  # fmt: skip
def test_native_events_equal_the_reference(
    task_id, name, parent, root, group, trace, retries, args, kwargs, routing_key, queue, capture_args, max_size,
    positions,
) -> None:  # fmt: skip
    p = payloads(capture_args=capture_args, max_data_size=max_size)
    headers = {"id": task_id, "task": name, "parent_id": parent, "root_id": root, "group": group, "retries": retries}
    if trace is not None:
        headers[context.HEADER] = trace
    body = (args, kwargs, {"chord": None})
    native = p.pending.build(headers, body, routing_key, queue, positions)
    if native is None:
        return
    reference = _reference(p, headers, body, routing_key, queue, positions)
    assert reference is not None and members(native) == members(reference)


def _reference(p: Payloads, headers: dict, body: tuple, routing_key: Any, queue: Any, positions: frozenset[int]):
    """The Python builder, given the same sensitive positions (it reads them from a task object)."""

    class Task:
        name = f"task-{sorted(positions)}"

        def run(self, *args: Any) -> None: ...

    p._sensitive[Task.name] = positions
    return build_publish_event(p, headers, body, routing_key, queue, Task() if positions else None)


short = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
common = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**62), max_value=2**62), short)


@settings(max_examples=200, deadline=None)
@given(
    args=st.lists(common, max_size=6), kwargs=st.dictionaries(short, common, max_size=4),
    parent=st.one_of(st.none(), st.uuids().map(str)), group=st.one_of(st.none(), st.uuids().map(str)),
)  # fmt: skip
def test_plain_messages_are_always_built_natively(args, kwargs, parent, group) -> None:
    p = payloads()
    headers, _ = typical_message()
    headers.update(parent_id=parent, group=group)
    body = (tuple(args), kwargs, None)
    native = p.pending.build(headers, body, "celery", "celery", frozenset())
    assert native is not None
    assert members(native) == members(build_publish_event(p, headers, body, "celery", "celery"))
