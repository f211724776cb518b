"""The less common outcomes with a real worker: replace, reject, ignore, expiry, unknown tasks, secrets,
printed output, heartbeats — in prefork with a fresh child per task (fork safety) and in solo."""

from __future__ import annotations

import datetime as dt

import pytest

import stemtrace
from tests.support.flows import TASKS, Flows, done, states
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis


@pytest.fixture(params=["solo", "prefork"])
# event_url before the worker factory: its clean-up then runs after the workers stopped publishing.
def flows(request: pytest.FixtureRequest, event_url: str, celery_worker_factory, stream_prefix: str):  # noqa: F811
    extra = ["--max-tasks-per-child", "1"] if request.param == "prefork" else []
    worker = celery_worker_factory(
        pool=request.param,
        concurrency=2,
        extra_args=extra,
        env={
            "STEMTRACE_TRANSPORT_URL": event_url,
            "STEMTRACE_CAPTURE_OUTPUT": "true",
            "STEMTRACE_HEARTBEAT_INTERVAL": "0.3",
        },
    )
    f = Flows(worker, event_url, stream_prefix)
    yield f
    stemtrace.celery.shutdown()


def test_lifecycle(flows: Flows) -> None:
    s = flows.s
    replaced = s("replaced", 5).delay()
    assert replaced.get(timeout=20) == 60
    spawn = s("spawn", 2).delay()
    children = spawn.get(timeout=15)
    secrets = s("login", "ada", "hunter2", api_key="abc").delay()
    assert secrets.get(timeout=15) == {"user": "ada", "session_token": "s3cr3t"}
    chatty = s("chatty", 2).delay()
    assert chatty.get(timeout=15) == 2
    rejected = s("rejected").delay()
    ignored = s("ignored").delay()
    expired = s("add", 1, 1).apply_async(expires=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5))
    unknown = flows.app.send_task("no.such.task", args=(1,))

    tasks = flows.wait_for(
        lambda t: (
            done(replaced.id, *children, secrets.id, chatty.id)(t)
            and done(rejected.id, state="REJECTED")(t)
            and done(ignored.id, state="IGNORED")(t)
            and done(expired.id, state="REVOKED")(t)
            and done(unknown.id, state="REJECTED")(t)
        ),
        timeout=30,
    )

    # replace: the replaced task does not end as IGNORED; its replacement hangs under it
    assert "IGNORED" not in states(tasks[replaced.id])
    replacement_first = [e for evts in tasks.values() for e in evts if e["name"] == f"{TASKS}.add"
                         and e["parent_id"] == replaced.id]  # fmt: skip
    assert replacement_first

    # children sent from inside a task: parent link and the parent's trace id
    spawn_trace = tasks[spawn.id][0]["trace_id"]
    for child in children:
        assert {e["parent_id"] for e in tasks[child]} == {spawn.id}
        assert {e["trace_id"] for e in tasks[child]} == {spawn_trace}

    # secrets: positional (by parameter name, worker side), keyword and result keys filtered
    started = next(e for e in tasks[secrets.id] if e["state"] == "STARTED")
    assert started["args"] == ["ada", "[Filtered]"] and started["kwargs"] == {"api_key": "[Filtered]"}
    success = next(e for e in tasks[secrets.id] if e["state"] == "SUCCESS")
    assert success["result"] == {"user": "ada", "session_token": "[Filtered]"}
    pending = next(e for e in tasks[secrets.id] if e["state"] == "PENDING")
    assert pending["kwargs"] == {"api_key": "[Filtered]"}

    # printed output
    chatty_done = next(e for e in tasks[chatty.id] if e["state"] == "SUCCESS")
    assert "line 0" in chatty_done["output"] and "line 1" in chatty_done["output"]

    # Reject / Ignore / expiry / unregistered names
    assert next(e for e in tasks[rejected.id] if e["state"] == "REJECTED")["exception_type"] == "Reject"
    revoked = next(e for e in tasks[expired.id] if e["state"] == "REVOKED")
    assert revoked["exception"] == "Revoked: expired"
    not_registered = next(e for e in tasks[unknown.id] if e["state"] == "REJECTED")
    assert not_registered["name"] == "no.such.task" and not_registered["exception_type"] == "NotRegistered"

    # heartbeats from the worker's main process
    flows.wait_for(lambda t: any(e.get("event_type") == "worker_heartbeat" for e in flows.events()), timeout=5)
    beat = next(e for e in flows.events() if e.get("event_type") == "worker_heartbeat")
    assert f"{TASKS}.add" in beat["registered_tasks"] and beat["pid"] > 0
