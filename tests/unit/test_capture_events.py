"""Event building from Celery's message headers and requests, and the publish-side signal handlers."""

from __future__ import annotations

import datetime as dt
import re

import orjson
from celery import Celery, chain

import stemtrace
from stemtrace.celery import context, events, signals
from stemtrace.celery.events import Payloads, chord_links, publish_event, request_fields, task_event
from stemtrace.config import build_config
from stemtrace.transport.base import BufferedTransport

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Capture(BufferedTransport):
    name = "capture"

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def send_bytes(self, data: bytes) -> None:  # synchronous: each event as the wire would carry it
        self._write([data])

    def _write(self, batch: list[bytes]) -> None:
        self.events.extend(orjson.loads(data) for data in batch)


def payloads(**kw: object) -> Payloads:
    return Payloads(build_config(None, env={}, transport_url="memory://", **kw))  # type: ignore[arg-type]


def test_task_event_shape() -> None:
    fields = request_fields({"root_id": "r", "retries": None}, "t1", "tasks.add")
    e = orjson.loads(task_event("STARTED", events.encode(fields), events.members({"hostname": None, "x": 1})))
    assert ISO.match(e["timestamp"])
    assert e["trace_id"] == "r" and e["retries"] == 0 and "hostname" not in e and e["x"] == 1
    assert {"task_id", "name", "state", "parent_id", "root_id", "trace_id"} <= set(e)
    unknown_state = orjson.loads(task_event("LOST", events.encode(fields)))
    assert unknown_state["state"] == "LOST" and ISO.match(unknown_state["timestamp"])


def test_now_iso_is_the_current_utc_time_across_a_change_of_second() -> None:
    # The text up to the second is cached: it must roll over with the clock.
    first = last = events.now_iso()
    while last[:19] == first[:19]:  # at most one second of calls
        last = events.now_iso()
    for stamp in (first, last):
        assert ISO.match(stamp)
        when = dt.datetime.fromisoformat(stamp[:-1]).replace(tzinfo=dt.timezone.utc)
        assert abs(dt.datetime.now(dt.timezone.utc) - when) < dt.timedelta(seconds=5)
    assert first < last


def test_publish_event_from_protocol_2_message() -> None:
    headers = {
        "id": "c1", "task": "tasks.add", "parent_id": "p", "root_id": "r", "group": "g", "retries": 0,
        "eta": "2030-01-01T00:00:00+00:00", context.HEADER: "trace-1",
    }  # fmt: skip
    body = ((1, {"password": "x"}), {"token": "t", "n": 2}, {"chord": None, "chain": None})
    encoded = publish_event(payloads(), headers, body, "celery", "celery")
    assert encoded is not None
    e = orjson.loads(encoded)
    assert (e["state"], e["task_id"], e["name"], e["parent_id"], e["root_id"], e["group_id"]) == (
        "PENDING", "c1", "tasks.add", "p", "r", "g"
    )  # fmt: skip
    assert e["trace_id"] == "trace-1" and e["eta"] == "2030-01-01T00:00:00.000000Z"
    assert e["args"] == [1, {"password": "[Filtered]"}] and e["kwargs"] == {"token": "[Filtered]", "n": 2}
    assert e["queue"] == e["routing_key"] == "celery"


def test_capture_args_off() -> None:
    p = payloads(capture_args=False, capture_result=False)
    assert p.args((1,)) is None and p.kwargs({"a": 1}) is None and p.result(3) is None
    assert p.call((1,), {"a": 1}) == b""


def test_oversized_args_stay_a_list_and_kwargs_a_dict() -> None:
    p = payloads(max_data_size=100)
    args = orjson.loads(p.args(["x" * 50] * 10))
    assert isinstance(args, list) and "truncated" in args[0]
    kwargs = orjson.loads(p.kwargs({str(i): "y" * 50 for i in range(10)}))
    assert isinstance(kwargs, dict) and "truncated" in kwargs["_truncated"]


def test_a_result_of_none_is_left_out() -> None:
    p = payloads()
    assert p.result(None) is None and p.result(0) == b"0" and p.result([None]) == b"[null]"


def test_chord_links_simple_and_chain_body() -> None:
    app = Celery("t", set_as_current=False)
    xsum, mul = (app.signature(n) for n in ("xsum", "mul"))
    body = xsum.clone()
    body.freeze()
    assert chord_links(dict(body)) == {
        "chord_callback_id": body.id,
        "chord_body_first_id": body.id,
    }
    chained = chain(xsum.clone(), mul.clone())
    last = chained.freeze()
    as_dict = orjson.loads(orjson.dumps(dict(chained), default=dict))
    links = chord_links(as_dict)
    assert links["chord_body_first_id"] == chained.tasks[0].id
    assert links["chord_callback_id"] in (last.id, chained.id)


def test_request_fields_from_worker_request_like_objects() -> None:
    class Req:
        def __init__(self) -> None:
            self.id = "t1"
            self.parent_id = "t1"  # a retry: Celery names the task its own parent
            self.root_id = "r"
            self.group = "g"
            self.chord = {"task": "cb", "options": {"task_id": "cb1"}}
            self.eta = None
            self.delivery_info = {"exchange": "", "routing_key": "q1"}
            self.request_dict = {"retries": 2, context.HEADER: "tr", context.PARENT_HEADER: "real-parent"}

    f = request_fields(Req(), "t1", "tasks.x")
    assert f["retries"] == 2 and f["trace_id"] == "tr" and f["parent_id"] == "real-parent"
    assert f["chord_callback_id"] == "cb1" and f["chord_id"] == "g" and f["queue"] == "q1"


def test_exception_fields() -> None:
    p = payloads(max_data_size=100)
    f = events.exception_fields(ValueError("bad"), p, "x" * 500)
    assert f["exception"] == "ValueError: bad" and f["exception_type"] == "ValueError"
    assert f["traceback"].startswith("[truncated 400 chars]") and f["traceback"].endswith("x")


def _install_capture() -> Capture:
    from stemtrace.celery import runtime

    cap = Capture()
    runtime.install(build_config(None, env={}, transport_url="memory://"), None, transport=cap)
    signals.connect()
    return cap


def test_publish_hooks_stamp_trace_header_and_emit_pending() -> None:
    cap = _install_capture()
    try:
        headers = {"id": "a", "task": "t.add", "root_id": "a", "parent_id": None, "group": None, "retries": 0}
        signals.on_before_publish(headers=headers)
        assert headers[context.HEADER] == "a"
        with stemtrace.trace("req-42"):
            h2 = {"id": "b", "task": "t.add", "root_id": "b", "group": None}
            signals.on_before_publish(headers=h2)
        assert h2[context.HEADER] == "req-42"
        g = {"id": "c", "task": "t.add", "root_id": "c", "group": "grp"}
        signals.on_before_publish(headers=g)
        assert g[context.HEADER] == "grp"  # members of a group published together share one trace
        signals.on_after_publish(body=((1, 2), {}, {}), headers=headers, exchange="", routing_key="celery")
        assert cap.events[-1]["state"] == "PENDING" and cap.events[-1]["trace_id"] == "a"
    finally:
        stemtrace.celery.shutdown()


def test_a_w3c_traceparent_gives_the_flow_its_trace_id() -> None:
    _install_capture()
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    try:
        top = {"id": "a", "root_id": "a", "traceparent": f"00-{trace}-00f067aa0ba902b7-01"}
        signals.on_before_publish(headers=top)
        nested = {"id": "b", "root_id": "b", "headers": {"traceparent": f"00-{trace.upper()}-00f067aa0ba902b7-00"}}
        signals.on_before_publish(headers=nested)
        assert top[context.HEADER] == nested[context.HEADER] == trace
        with stemtrace.trace("req-42"):  # an explicit trace id still wins
            explicit = {"id": "c", "root_id": "c", "traceparent": f"00-{trace}-00f067aa0ba902b7-01"}
            signals.on_before_publish(headers=explicit)
        assert explicit[context.HEADER] == "req-42"
        for bad in ("garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00-{trace[:-1]}-00f067aa0ba902b7-01", 7):
            h = {"id": "d", "root_id": "d", "traceparent": bad}
            signals.on_before_publish(headers=h)
            assert h[context.HEADER] == "d", bad  # not a valid traceparent: the root id, as without one
    finally:
        stemtrace.celery.shutdown()


def test_handlers_never_raise() -> None:
    _install_capture()
    try:
        signals.on_after_publish(body=object(), headers={"id": 1})
        signals.on_prerun(task_id="x", task=object())
        signals.on_postrun(sender=object(), task_id="y", state="SUCCESS", retval=1)
        signals.on_retry(sender=None, request=object(), reason=None)
        signals.on_worker_ready(sender=object())
        signals.on_postrun(task_id="x", state="SUCCESS")
    finally:
        stemtrace.celery.shutdown()


def test_positional_arguments_are_scrubbed_by_parameter_name() -> None:
    app = Celery("pos", set_as_current=False)

    @app.task(bind=True, name="pos.login")
    def login(self, username, password, api_key=None, *rest):  # type: ignore[no-untyped-def]
        return username

    p = payloads()
    assert orjson.loads(p.args(("ada", "hunter2", "k", "extra"), login)) == ["ada", "[Filtered]", "[Filtered]", "extra"]
    assert orjson.loads(p.args(("ada", "hunter2"))) == ["ada", "hunter2"]  # task unknown: nothing to go by
    assert orjson.loads(payloads(scrub_sensitive_data=False).args(("ada", "x"), login)) == ["ada", "x"]


def test_worker_events_carry_transport_counters_and_say_goodbye_on_cold_shutdown() -> None:
    cap = _install_capture()
    try:
        worker = type("W", (), {"hostname": "celery@w", "app": Celery("w", set_as_current=False)})()
        signals.on_worker_ready(sender=worker)
        ready = cap.events[-1]
        assert ready["event_type"] == "worker_ready" and ready["heartbeat_interval"] == 30.0
        assert set(ready["transport"]) == {"sent", "dropped", "errors", "buffered"}
        signals.on_worker_shutting_down(sender="celery@w", how="Warm")  # still finishing its tasks
        assert cap.events[-1] is ready
        signals.on_worker_shutting_down(sender="celery@w", how="Cold")  # exits without worker_shutdown
        assert cap.events[-1]["event_type"] == "worker_terminating" and cap.events[-1]["hostname"] == "celery@w"
        signals.on_worker_shutdown(sender=worker)
        assert cap.events[-1]["event_type"] == "worker_shutdown" and "transport" in cap.events[-1]
    finally:
        signals.on_worker_shutdown(sender=None)
        stemtrace.celery.shutdown()


def test_request_fields_read_alike_from_headers_a_worker_request_and_a_task_context() -> None:
    # Each kind is read its own cheapest way (the dict Celery keeps, the decoded body for the chord).
    from celery.app.task import Context
    from celery.worker.request import Request
    from kombu.message import Message

    app = Celery("rf", set_as_current=False)
    chord = {"task": "cb", "options": {"task_id": "cb1"}, "subtask_type": None}
    message = app.amqp.as_task_v2("t1", "rf.add", args=(1,), kwargs={}, group_id="g", root_id="r", parent_id="p",
                                  retries=2, chord=chord, eta="2031-05-05T10:00:00+02:00")  # fmt: skip
    headers = dict(message.headers, **{context.HEADER: "tr"})
    body = orjson.loads(orjson.dumps(message.body))
    delivery = {"exchange": "", "routing_key": "q1"}
    request = Request(
        Message(body=orjson.dumps(body), headers=headers, content_type="application/json", content_encoding="utf-8",
                delivery_info=delivery), app=app, task=app.signature("rf.add"), hostname="h@w"
    )  # fmt: skip
    task_context = Context(request.request_dict, args=body[0], kwargs=body[1], called_directly=False, **body[2])
    expected = {
        "task_id": "t1", "name": "rf.add", "retries": 2, "trace_id": "tr", "parent_id": "p", "root_id": "r",
        "group_id": "g", "eta": "2031-05-05T08:00:00.000000Z", "chord_callback_id": "cb1",
        "chord_body_first_id": "cb1", "chord_id": "g", "queue": "q1", "routing_key": "q1",
    }  # fmt: skip
    for source in (request, task_context, dict(headers, chord=chord, delivery_info=delivery)):
        assert request_fields(source, "t1", "rf.add") == expected, type(source)
