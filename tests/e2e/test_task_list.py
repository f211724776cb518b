"""The task list over thousands of tasks: a window of rows in the DOM, far rows fetched as they scroll in.

The tasks are written straight to the Redis stream the server follows, in the wire format of the capture
library (see tests/golden/*.jsonl), which is much faster than running them on a worker.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import httpx
import orjson
import pytest
import redis

pytestmark = [pytest.mark.redis, pytest.mark.browser]

N = 3000
ROW_HEIGHT = 40  # px, ui/src/tasks/windowing.ts
WAIT = 20_000


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _publish(redis_url: str, prefix: str, ids: list[str], start: float) -> None:
    """Each task queued, started 0.2 s later and done 0.5 s after queueing; one second between tasks."""
    pipe = redis.Redis.from_url(redis_url).pipeline(transaction=False)
    for i, task_id in enumerate(ids):
        for state, delay in (("PENDING", 0.0), ("STARTED", 0.2), ("SUCCESS", 0.5)):
            event = {"task_id": task_id, "name": "bulk.step", "state": state, "timestamp": _iso(start + i + delay),
                     "retries": 0, "trace_id": task_id, "root_id": task_id, "queue": "bulk"}  # fmt: skip
            if state != "PENDING":
                event["hostname"] = "w-bulk@vm"
            pipe.xadd(f"{prefix}:events", {"data": orjson.dumps(event)})
    pipe.execute()


def _wait_total(base: str, total: int) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(f"{base}api/tasks", params={"limit": 1, "state": "SUCCESS"}).json()["total"] < total:
        assert time.monotonic() < deadline, "the server never stored the tasks"
        time.sleep(0.2)


def _indexes(page: Any) -> list[int]:
    return page.locator('[data-testid="task-row"]').evaluate_all("rs => rs.map(r => Number(r.dataset.index))")


def test_task_list_scrolls_thousands_with_a_window_of_rows(ui_page: Any, server: str, redis_url: str,
                                                          stream_prefix: str) -> None:  # fmt: skip
    ids = [f"bulk-{i:05d}" for i in range(N)]
    _publish(redis_url, stream_prefix, ids, time.time() - N - 60)
    _wait_total(server, N)
    newest_first = ids[::-1]
    page = ui_page
    page.goto(server + "#/tasks")
    rows = page.locator('[data-testid="task-row"]')
    rows.first.wait_for(timeout=WAIT)
    assert page.locator('[data-testid="task-total"]').inner_text() == "3,000 tasks"
    assert rows.first.get_attribute("data-task-id") == newest_first[0]
    scroller = page.locator('[data-testid="task-scroller"]')
    # The scroll area (below its sticky header) stands for every task; the DOM holds a screenful plus the overscan.
    header = page.locator('[data-testid="task-scroller"] .vhead').evaluate("h => h.offsetHeight")
    assert scroller.evaluate("e => e.scrollHeight") == header + N * ROW_HEIGHT
    visible = (scroller.evaluate("e => e.clientHeight") - header) // ROW_HEIGHT
    assert 0 < rows.count() <= visible + 2 * 8 + 2

    # A far row is fetched when it scrolls into view, and the rows near the top leave the DOM.
    scroller.evaluate(f"e => {{ e.scrollTop = {2000 * ROW_HEIGHT} }}")
    far = page.locator('[data-testid="task-row"][data-index="2000"]')
    far.wait_for(timeout=WAIT)
    assert far.get_attribute("data-task-id") == newest_first[2000]
    # ... right under the header: the first row of the view.
    under = far.evaluate("(r, h) => r.getBoundingClientRect().top - h.getBoundingClientRect().bottom",
                         page.locator('[data-testid="task-scroller"] .vhead').element_handle())  # fmt: skip
    assert abs(under) < 1
    indexes = _indexes(page)
    assert min(indexes) >= 2000 - 8 and max(indexes) <= 2000 + visible + 8 + 1, indexes

    # A new task while scrolled down: the rows stay put and a button offers the newer list.
    _publish(redis_url, stream_prefix, ["bulk-new"], time.time())
    page.locator('[data-testid="task-list-newer"]').wait_for(timeout=WAIT)
    assert far.get_attribute("data-task-id") == newest_first[2000]
    assert scroller.evaluate("e => e.scrollTop") == 2000 * ROW_HEIGHT
    page.locator('[data-testid="task-list-newer"]').click()
    page.locator('[data-testid="task-row"][data-index="0"][data-task-id="bulk-new"]').wait_for(timeout=WAIT)
    assert page.locator('[data-testid="task-total"]').inner_text() == "3,001 tasks"

    # The oldest task, at the very bottom.
    scroller.evaluate("e => { e.scrollTop = e.scrollHeight }")
    page.locator(f'[data-testid="task-row"][data-index="{N}"][data-task-id="{ids[0]}"]').wait_for(timeout=WAIT)
    assert page.dialogs == [] and page.errors == []
