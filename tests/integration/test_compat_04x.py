"""Events written by workers running the pure-Python stemtrace 0.4.5 load correctly in our engine.

The inputs are real stream entries (the ``data`` field, byte for byte) recorded from a 0.4.5-instrumented
Celery worker by ``bench/peers/record_04x.py`` into ``tests/fixtures/compat/stemtrace-0.4.5/``; this test
needs only those files, not the peer virtualenv. Each flow is fed through the real server path (the
memory transport's ``engine.ingest``, under the app's lifespan) and checked through the HTTP API.

Re-record: ``bash bench/peers/setup.sh && /work/peers-venv/bin/python bench/peers/record_04x.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from stemtrace import StemtraceExtension

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "compat" / "stemtrace-0.4.5"
FLOWS = ("chain", "group", "chord", "retry", "failure", "secrets")
TERMINAL = {"SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED"}


def lines(name: str) -> list[bytes]:
    """A fixture's stream entries, exactly as 0.4.5 wrote them."""
    return [line for line in (FIXTURES / f"{name}.jsonl").read_bytes().splitlines() if line.strip()]


class Recorded:
    """What 0.4.5 itself said about a flow: its events grouped by task, to compare the API against."""

    def __init__(self, name: str) -> None:
        self.raw = lines(name)
        self.events = [orjson.loads(line) for line in self.raw]
        self.tasks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in self.events:
            self.tasks[e["task_id"]].append(e)

    def ids(self, name: str) -> list[str]:
        """Ids of the tasks called ``app_04x.<name>``, in order of their first event."""
        return [t for t, evts in self.tasks.items() if evts[0]["name"] == f"app_04x.{name}"]

    def final_state(self, task_id: str) -> str:
        states = [e["state"] for e in self.tasks[task_id]]
        return next(s for s in reversed(states) if s in TERMINAL)

    def first(self, task_id: str, field: str) -> Any:
        """The first non-null value of ``field`` among the task's events."""
        return next((e[field] for e in self.tasks[task_id] if e.get(field) is not None), None)


Serve = Callable[..., Any]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an app (memory transport, lifespan running), ingest fixture files, return (client, applied)."""
    stack: list[Any] = []

    async def start(*names: str) -> tuple[AsyncClient, int]:
        flow = StemtraceExtension(transport_url="memory://")
        app = FastAPI(lifespan=flow.lifespan)
        app.include_router(flow.router, prefix="/st")
        manager = LifespanManager(app)
        await manager.__aenter__()
        stack.append(manager)
        applied = flow.engine.ingest([line for name in names for line in lines(name)])
        client = AsyncClient(transport=ASGITransport(app=app), base_url="http://test")
        stack.append(client)
        return client, applied

    yield start
    for item in reversed(stack):
        await item.__aexit__(None, None, None)


async def get(client: AsyncClient, path: str) -> Any:
    answer = await client.get(f"/st{path}")
    assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
    return answer.json()


async def check_tasks(client: AsyncClient, rec: Recorded) -> dict[str, dict[str, Any]]:
    """Every recorded task is listed with 0.4.5's name and final state, and its detail has every event."""
    listed = {t["task_id"]: t for t in (await get(client, "/api/tasks?limit=500"))["tasks"]}
    assert set(listed) == set(rec.tasks), "tasks listed by /api/tasks differ from the tasks 0.4.5 recorded"
    for task_id, evts in rec.tasks.items():
        task = listed[task_id]
        assert task["name"] == evts[0]["name"], task_id
        assert task["state"] == rec.final_state(task_id), f"{task_id}: final state"
        assert task["node_type"] == "TASK"
        assert task["hostname"] == rec.first(task_id, "hostname"), "hostname (Celery nodename) from 0.4.5's events"
        assert task["queue"] == rec.first(task_id, "queue")
        detail = (await get(client, f"/api/tasks/{task_id}"))["task"]
        assert len(detail["events"]) == len(evts), f"{task_id}: every 0.4.5 event is kept"
        assert sorted(e["timestamp"] for e in detail["events"]) == sorted(e["timestamp"] for e in evts)
    return listed


async def check_health(client: AsyncClient, applied: int, expected: int) -> None:
    """No entry skipped; ``expected`` task events applied (ingest counts task events, not worker events)."""
    health = await get(client, "/api/health")
    assert health["skipped"] == dict.fromkeys(health["skipped"], 0), f"0.4.5 entries were skipped: {health}"
    assert applied == expected, f"engine.ingest applied {applied} of {expected} 0.4.5 task events"
    assert health["events_ingested"] == expected and health["duplicates"] == 0


async def test_all_recorded_entries_decode_without_skips(serve: Serve) -> None:
    task_events = sum(len(lines(n)) for n in FLOWS)
    client, applied = await serve(*FLOWS, "worker")
    await check_health(client, applied, task_events)
    health = await get(client, "/api/health")
    assert health["worker_events"] == len(lines("worker")), "worker_ready / worker_shutdown decoded as worker events"
    # Six flows, none linked to another.
    graphs = await get(client, "/api/graphs")
    assert graphs["total"] == len(FLOWS), [g["task_id"] for g in graphs["graphs"]]


async def test_chain_is_linked_parent_to_child(serve: Serve) -> None:
    rec = Recorded("chain")
    client, applied = await serve("chain")
    await check_health(client, applied, len(rec.raw))
    listed = await check_tasks(client, rec)
    first = next(t for t in rec.tasks if rec.first(t, "parent_id") is None)
    second = next(t for t in rec.tasks if rec.first(t, "parent_id") == first)
    third = next(t for t in rec.tasks if rec.first(t, "parent_id") == second)
    assert [listed[t]["name"] for t in (first, second, third)] == ["app_04x.add", "app_04x.mul", "app_04x.add"]
    assert listed[first]["parent_id"] is None and listed[first]["children"] == [second]
    assert listed[second]["parent_id"] == first and listed[second]["children"] == [third]
    assert listed[third]["parent_id"] == second and listed[third]["root_id"] == first

    graphs = await get(client, "/api/graphs")
    assert [g["task_id"] for g in graphs["graphs"]] == [first], "the chain is one flow rooted at its first step"
    assert graphs["graphs"][0]["task_count"] == 3
    nodes = (await get(client, f"/api/graphs/{first}"))["nodes"]
    assert set(nodes) == {first, second, third}
    assert nodes[second]["parent_id"] == first and nodes[third]["parent_id"] == second
    assert {n["state"] for n in nodes.values()} == {"SUCCESS"}


async def test_group_gets_a_group_container(serve: Serve) -> None:
    rec = Recorded("group")
    client, applied = await serve("group")
    await check_health(client, applied, len(rec.raw))
    await check_tasks(client, rec)
    group_ids = {rec.first(t, "group_id") for t in rec.tasks}
    assert len(group_ids) == 1 and None not in group_ids, "0.4.5 gives every member the group id"
    container = f"group:{group_ids.pop()}"

    graphs = await get(client, "/api/graphs")
    assert [g["task_id"] for g in graphs["graphs"]] == [container]
    nodes = (await get(client, f"/api/graphs/{container}"))["nodes"]
    group = nodes[container]
    assert group["node_type"] == "GROUP" and group["name"] == "group" and group["state"] == "SUCCESS"
    assert group["chord_id"] is None
    assert sorted(group["children"]) == sorted(rec.tasks)
    for task_id in rec.tasks:
        assert nodes[task_id]["parent_id"] == container


async def test_chord_container_and_callback(serve: Serve) -> None:
    rec = Recorded("chord")
    client, applied = await serve("chord")
    await check_health(client, applied, len(rec.raw))
    listed = await check_tasks(client, rec)
    headers = rec.ids("add")
    [callback] = rec.ids("xsum")
    assert len(headers) == 3
    # The evidence 0.4.5 gives: every header names the callback (chord_callback_id) and the chord's group
    # (chord_id); the callback carries the header group id too and, as parent, the header that finished last.
    group_id = rec.first(headers[0], "group_id")
    for h in headers:
        assert rec.first(h, "chord_callback_id") == callback and rec.first(h, "chord_id") == group_id
        assert listed[h]["chord_callback_id"] == callback, "header keeps chord_callback_id"
    assert rec.first(callback, "group_id") == group_id and rec.first(callback, "parent_id") in headers
    container = f"group:{group_id}"

    graphs = await get(client, "/api/graphs")
    assert [g["task_id"] for g in graphs["graphs"]] == [container], "the chord is one flow"
    assert graphs["graphs"][0]["task_count"] == 4
    nodes = (await get(client, f"/api/graphs/{container}"))["nodes"]
    assert set(nodes) == {container, *headers, callback}, "graph has the container, 3 headers and the callback"
    chord = nodes[container]
    assert chord["node_type"] == "CHORD" and chord["name"] == "chord" and chord["state"] == "SUCCESS"
    assert chord["chord_id"] == callback, "CHORD node names the callback in chord_id"
    assert chord["not_run_reason"] is None
    assert sorted(chord["children"]) == sorted(headers), "the callback sits outside the container"
    for h in headers:
        assert nodes[h]["parent_id"] == container
    assert nodes[callback]["parent_id"] == container, "the callback hangs off the CHORD node"
    assert nodes[callback]["reported_parent_id"] == rec.first(callback, "parent_id")
    assert nodes[callback]["state"] == "SUCCESS"
    assert sorted(chord.get("members", headers)) == sorted(headers), (
        "CHORD members must be the 3 headers only: 0.4.5 gives the callback the header group id "
        f"({group_id}) but the callback is not a header; got members={chord.get('members')}"
    )


async def test_chord_header_task_keeps_its_chord_id(serve: Serve) -> None:
    """0.4.5's TaskNode.chord_id for a header is the event's chord_id (the chord's group id)."""
    rec = Recorded("chord")
    client, _ = await serve("chord")
    for h in rec.ids("add"):
        expected = rec.first(h, "chord_id")
        got = (await get(client, f"/api/tasks/{h}"))["task"]["chord_id"]
        assert got == expected, (
            f"header {h}: 0.4.5 events carry chord_id={expected!r} (STARTED/SUCCESS) and 0.4.5's API shows it "
            f"as the TaskNode's chord_id; our /api/tasks/{{id}} returns chord_id={got!r}"
        )


async def test_retries_are_counted_and_self_parent_ignored(serve: Serve) -> None:
    rec = Recorded("retry")
    client, applied = await serve("retry")
    await check_health(client, applied, len(rec.raw))
    listed = await check_tasks(client, rec)
    [task_id] = rec.tasks
    states = [e["state"] for e in rec.tasks[task_id]]
    assert states.count("RETRY") == 2 and states[-1] == "SUCCESS"
    # 0.4.5 reports the task itself as parent on the re-delivered attempts (Celery's request.parent_id).
    assert rec.first(task_id, "parent_id") == task_id
    task = listed[task_id]
    assert task["state"] == "SUCCESS"
    assert task["retries"] == 2, "retries = highest retry count among the events"
    assert task["parent_id"] is None and task["children"] == [], "no self link from 0.4.5's parent_id == task_id"
    assert task["exception_type"] == "ConnectionError", "like 0.4.5: the furthest-along exception, a retried one too"
    assert task["total_runtime_ms"] > task["runtime_ms"], "total runtime adds up the three attempts"
    graphs = await get(client, "/api/graphs")
    assert [g["task_id"] for g in graphs["graphs"]] == [task_id]


async def test_failure_keeps_exception_type(serve: Serve) -> None:
    rec = Recorded("failure")
    client, applied = await serve("failure")
    await check_health(client, applied, len(rec.raw))
    listed = await check_tasks(client, rec)
    [task_id] = rec.tasks
    assert rec.first(task_id, "exception_type") == "ValueError"
    assert listed[task_id]["state"] == "FAILURE" and listed[task_id]["exception_type"] == "ValueError"
    found = await get(client, "/api/tasks?exception_type=ValueError&state=failure")
    assert [t["task_id"] for t in found["tasks"]] == [task_id]
    detail = (await get(client, f"/api/tasks/{task_id}"))["task"]
    failure = next(e for e in detail["events"] if e["state"] == "FAILURE")
    recorded = next(e for e in rec.tasks[task_id] if e["state"] == "FAILURE")
    assert failure["exception"] == recorded["exception"] and "ValueError: expected failure" in failure["traceback"]


async def test_scrubbed_password_stays_scrubbed(serve: Serve) -> None:
    rec = Recorded("secrets")
    client, applied = await serve("secrets")
    await check_health(client, applied, len(rec.raw))
    await check_tasks(client, rec)
    [task_id] = rec.tasks
    body = (await client.get(f"/st/api/tasks/{task_id}")).text
    assert "hunter2" not in body
    detail = orjson.loads(body)["task"]
    kwargs = [e["kwargs"] for e in detail["events"] if e.get("kwargs")]
    assert kwargs, "0.4.5 sends kwargs on PENDING and STARTED"
    for k in kwargs:
        assert k == {"username": "ada", "password": "[Filtered]", "api_key": "[Filtered]"}


async def test_worker_lifecycle_events(serve: Serve) -> None:
    events = [orjson.loads(line) for line in lines("worker")]
    ready = next(e for e in events if e["event_type"] == "worker_ready")
    assert [e["event_type"] for e in events] == ["worker_ready", "worker_shutdown"]
    client, _ = await serve("worker", *FLOWS)
    workers = await get(client, "/api/workers")
    assert workers["total"] == 1
    [worker] = workers["workers"]
    assert worker["hostname"] == ready["hostname"] and worker["pid"] == ready["pid"]
    assert sorted(worker["registered_tasks"]) == sorted(ready["registered_tasks"])
    assert worker["status"] == "offline", "worker_shutdown was recorded last"
    assert worker["registered_at"] == ready["timestamp"]
    one = await get(client, f"/api/workers/{ready['hostname']}")
    assert [w["hostname"] for w in one["workers"]] == [ready["hostname"]]

    registry = {t["name"]: t for t in (await get(client, "/api/tasks/registry"))["tasks"]}
    for name, definition in ready["task_definitions"].items():
        entry = registry[name]
        for field in ("module", "signature", "docstring", "bound"):
            assert entry[field] == definition[field], f"{name}.{field} from 0.4.5's task_definitions"
        assert entry["registered_by"] == [ready["hostname"]]
    assert registry["app_04x.add"]["execution_count"] >= 1 and registry["app_04x.add"]["status"] == "active"
