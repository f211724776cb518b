"""Real Redis and RabbitMQ, a real worker subprocess (prefork, solo and threads pools): every canvas shape lands
in the stream, linked."""

from __future__ import annotations

import pytest
from celery import chain, chord, group

import stemtrace
from tests.support.flows import TASKS, Flows, done, states
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis


@pytest.fixture(params=["solo", "prefork", "threads"])
# event_url before the worker factory: its clean-up then runs after the workers stopped publishing.
def flows(request: pytest.FixtureRequest, event_url: str, celery_worker_factory, stream_prefix: str):  # noqa: F811
    worker = celery_worker_factory(pool=request.param, concurrency=2, env={"STEMTRACE_TRANSPORT_URL": event_url})
    f = Flows(worker, event_url, stream_prefix)
    f.pool = request.param  # type: ignore[attr-defined]
    yield f
    stemtrace.celery.shutdown()


def test_flows(flows: Flows) -> None:
    s = flows.s
    # chain, under an explicit trace id
    with stemtrace.trace("req-42"):
        ch = chain(s("add", 1, 2), s("mul", 3), s("add", 4)).delay()
    assert ch.get(timeout=15) == 13
    # group
    gr = group(s("add", i, i) for i in range(3)).delay()
    assert gr.get(timeout=15) == [0, 2, 4]
    # chord
    cd = chord([s("add", i, i) for i in range(3)], s("xsum")).delay()
    assert cd.get(timeout=15) == 6
    # failure
    fl = s("fail", "expected").delay()
    with pytest.raises(ValueError):
        fl.get(timeout=15)
    # retry then success
    rt = s("flaky", 2).delay()
    assert rt.get(timeout=20) == "ok after 2 retries"

    chain_ids = [ch.id, ch.parent.id, ch.parent.parent.id]
    ok = done(*chain_ids, *(r.id for r in gr.results), cd.id, rt.id)
    failed = done(fl.id, state="FAILURE")
    # Each process (this one, the worker, each pool child) sends its own events, so they may arrive in any
    # order: wait for every event asserted below, not only the outcomes.
    lifecycle = {"PENDING", "RECEIVED", "STARTED", "SUCCESS"}

    def complete(t: dict) -> bool:
        retried = states(t[rt.id])
        return (
            ok(t) and failed(t) and retried.count("RETRY") == 2 and retried.count("PENDING") == 3
            and all(lifecycle <= set(states(t[i])) for i in [*chain_ids, *(r.id for r in gr.results), cd.id])
        )  # fmt: skip

    tasks = flows.wait_for(complete)

    # every task: PENDING → RECEIVED → STARTED → outcome, all with timestamps and a hostname where run
    for tid in [*chain_ids, *(r.id for r in gr.results), cd.id]:
        st = states(tasks[tid])
        assert {"PENDING", "RECEIVED", "STARTED", "SUCCESS"} <= set(st), (tid, st)
        started = next(e for e in tasks[tid] if e["state"] == "STARTED")
        assert started["hostname"].startswith("w-") and started["pid"] > 0

    # chain: links and one trace id across all steps
    first, second, third = reversed(chain_ids)
    assert {e["trace_id"] for i in chain_ids for e in tasks[i]} == {"req-42"}
    assert all(e["parent_id"] == first for e in tasks[second]) and all(e["root_id"] == first for e in tasks[third])
    assert all(e["parent_id"] == second for e in tasks[third])
    assert next(e for e in tasks[ch.id] if e["state"] == "SUCCESS")["result"] == 13
    assert next(e for e in tasks[ch.id] if e["state"] == "STARTED")["args"] == [9, 4]

    # group: members share a group id (and a trace id)
    group_ids = {e["group_id"] for r in gr.results for e in tasks[r.id]}
    assert group_ids == {gr.id}
    assert len({e["trace_id"] for r in gr.results for e in tasks[r.id]}) == 1

    # chord: every header event carries the callback id; the callback is the last header's child
    header_ids = [r.id for r in cd.parent.results]
    for hid in header_ids:
        for e in tasks[hid]:
            assert e["chord_callback_id"] == cd.id and e["chord_body_first_id"] == cd.id, e
            assert e["group_id"] == cd.parent.id
    callback = tasks[cd.id]
    assert {e["parent_id"] for e in callback} <= set(header_ids)
    assert {e["trace_id"] for e in callback} == {e["trace_id"] for h in header_ids for e in tasks[h]}
    assert next(e for e in callback if e["state"] == "SUCCESS")["result"] == 6

    # failure: type, message, traceback
    failure = next(e for e in tasks[fl.id] if e["state"] == "FAILURE")
    assert failure["exception"] == "ValueError: expected" and failure["exception_type"] == "ValueError"
    assert "Traceback" in failure["traceback"] and "raise ValueError" in failure["traceback"]

    # retry: two RETRY events with reasons, PENDING per publish, retries counted, no self-parent
    retry_events = tasks[rt.id]
    retries = sorted((e for e in retry_events if e["state"] == "RETRY"), key=lambda e: e["retries"])
    assert [e["retries"] for e in retries] == [0, 1]  # sorted: two pool children may deliver out of order
    assert retries[0]["exception"] == "ConnectionError: attempt 0 failed"
    assert sorted(e["retries"] for e in retry_events if e["state"] == "PENDING") == [0, 1, 2]
    assert all(e["parent_id"] != rt.id for e in retry_events)
    assert next(e for e in retry_events if e["state"] == "SUCCESS")["retries"] == 2

    # worker events
    worker_events = [e for e in flows.events() if "event_type" in e]
    ready = next(e for e in worker_events if e["event_type"] == "worker_ready")
    assert f"{TASKS}.add" in ready["registered_tasks"]
    assert ready["task_definitions"][f"{TASKS}.flaky"]["bound"] is True
    assert ready["task_definitions"][f"{TASKS}.add"]["signature"] == "(x: int, y: int) -> int"


def test_nested_canvas(flows: Flows) -> None:
    s = flows.s
    # chord whose body is a chain: headers name the chain's first task as the body's first id
    body = chain(s("xsum"), s("mul", 2))
    cc = chord([s("add", i, 1) for i in range(3)], body).delay()
    assert cc.get(timeout=20) == 12
    # group of chains, and a chain that contains a chord
    gc = group(chain(s("add", i, 1), s("mul", 2)) for i in range(2)).delay()
    assert gc.get(timeout=20) == [2, 4]
    wc = chain(s("add", 1, 1), chord([s("mul", i) for i in range(1, 3)], s("xsum"))).delay()
    assert wc.get(timeout=20) == 6

    tasks = flows.wait_for(done(cc.id, *(r.id for r in gc.results), wc.id), timeout=20)

    header_ids = {r.id for r in cc.parent.results}  # cc.parent: the header group
    header_events = [e for i in header_ids for e in tasks[i]]
    assert {e["chord_callback_id"] for e in header_events} == {cc.id}  # Celery's callback id: the chain's last
    (xsum_id,) = {e["chord_body_first_id"] for e in header_events}
    assert xsum_id != cc.id and {e["name"] for e in tasks[xsum_id]} == {f"{TASKS}.xsum"}
    assert {e["parent_id"] for e in tasks[xsum_id]} <= header_ids
    # one trace id for the whole chord-with-chain-body flow
    flow_ids = header_ids | {xsum_id, cc.id}
    assert len({e["trace_id"] for i in flow_ids for e in tasks[i]}) == 1

    # group of chains: each chain's steps link parent → child; the whole group shares one trace
    for r in gc.results:
        assert {e["parent_id"] for e in tasks[r.id]} == {r.parent.id}
    members = {r.id for r in gc.results} | {r.parent.id for r in gc.results}
    assert len({e["trace_id"] for i in members for e in tasks[i]}) == 1

    # chain with a chord: the chord's callback ends up in the chain's trace
    first = wc
    while first.parent is not None:
        first = first.parent
    assert {e["trace_id"] for e in tasks[wc.id]} == {e["trace_id"] for e in tasks[first.id]}
