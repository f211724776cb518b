"""Every page of the UI against real data: one server and one real worker run a set of flows for the module.

Set STEMTRACE_SCREENSHOTS=docs/screenshots to save a PNG of each page (see docs/ui.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from celery import chord, group

import stemtrace
from tests.e2e.conftest import screenshot
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

T = "examples.celery_app"
XSS = "<img src=x onerror=alert(1)>"
WAIT = 20_000


@dataclass
class Ran:
    """Ids of the flows the module ran."""

    app: Any
    chain_root: str
    group_id: str
    chord_group_id: str
    chord_callback: str
    retried: str
    failed: str
    xss_failed: str
    xss_named: str


def _s(app: Any, name: str, *args: Any) -> Any:
    return app.signature(f"{T}.{name}", args=args)


@pytest.fixture(scope="module")
def ran(module_worker: WorkerProcess, module_server: str, redis_url: str, module_prefix: str) -> Ran:
    app = module_worker.client_app()
    # The client publishes too, so tasks show from the moment they are sent (and an unknown name shows at all).
    stemtrace.init(app, transport_url=redis_url, prefix=module_prefix)
    chained = (_s(app, "add", 2, 3) | _s(app, "add", 4) | _s(app, "add", 5))()
    grouped = group(_s(app, "add", i, i) for i in range(3))()
    chorded = chord([_s(app, "add", i, i) for i in range(3)], _s(app, "xsum"))()
    retried = _s(app, "flaky", 2).delay()
    failed = _s(app, "fail", "expected failure").delay()
    xss_failed = _s(app, "fail", XSS).delay()
    # A task name nobody registered: the worker drops it, but its "sent" event carries the name.
    xss_named = app.send_task(XSS, args=[XSS], kwargs={XSS: XSS})
    assert chained.get(timeout=30) == 14
    assert grouped.get(timeout=30) == [0, 2, 4]
    assert chorded.get(timeout=30) == 6
    assert retried.get(timeout=30) == "ok after 2 retries"
    for result in (failed, xss_failed):
        with pytest.raises(ValueError):
            result.get(timeout=30)
    ran = Ran(app, chained.parent.parent.id, grouped.id, chorded.parent.id, chorded.id, retried.id, failed.id,
              xss_failed.id, xss_named.id)  # fmt: skip
    # Every task the tests count, not only the flows' roots: chain steps are published by the worker's pool
    # child, whose events reach the stream on their own schedule.
    members = [r.id for r in (*grouped.results, *chorded.parent.results)]
    everything = [ran.chain_root, chained.parent.id, chained.id, *members, ran.chord_callback, ran.retried,
                  ran.failed, ran.xss_failed, ran.xss_named]  # fmt: skip
    _wait_until_stored(module_server, everything)
    return ran


def _wait_until_stored(base: str, ids: list[str]) -> None:
    deadline = time.monotonic() + 20
    while not all(httpx.get(f"{base}api/tasks/{i}").status_code == 200 for i in ids):
        assert time.monotonic() < deadline, "the server never stored the flows"
        time.sleep(0.2)
    time.sleep(0.5)  # last events of the flows


def _clean(page: Any) -> None:
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    assert page.errors == [], f"page errors: {page.errors}"


def test_overview_shows_runs_failures_and_flows(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server)
    overview = page.locator('[data-testid="overview"]')
    overview.wait_for(timeout=WAIT)
    runs = page.locator('[data-kpi="runs"] .stat-value')
    runs.wait_for(timeout=WAIT)
    assert int(runs.inner_text().replace(",", "")) >= 12
    page.locator('[data-testid="failure-group"][data-exception="ValueError"]').wait_for(timeout=WAIT)
    page.locator('[data-testid="throughput-chart"]').wait_for(timeout=WAIT)
    assert page.locator('[data-testid="slow-flow"]').count() > 0
    assert "1" in page.locator('[data-kpi="workers"] .stat-value').inner_text()
    # The window is in the URL and survives a reload.
    page.locator('[data-testid="window-picker"] [data-within="6h"]').click()
    page.wait_for_url("**#/overview?within=6h")
    page.reload()
    page.locator('[data-testid="overview"][data-within="6h"]').wait_for(timeout=WAIT)
    page.locator('[data-kpi="runs"]').wait_for(timeout=WAIT)
    screenshot(page, "overview")
    _clean(page)


def test_task_filters_live_in_the_url(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server + "#/tasks")
    page.locator('[data-testid="task-row"]').first.wait_for(timeout=WAIT)
    screenshot(page, "tasks")
    page.locator('[data-testid="state-filter"][data-state="FAILURE"]').click()
    page.locator('[data-testid="filter-name"]').fill("fail")
    page.wait_for_url("**name=fail**")
    assert "state=FAILURE" in page.url
    page.reload()
    assert page.locator('[data-testid="state-filter"][data-state="FAILURE"]').get_attribute("aria-pressed") == "true"
    assert page.locator('[data-testid="filter-name"]').input_value() == "fail"
    rows = page.locator('[data-testid="task-row"]')
    rows.nth(1).wait_for(timeout=WAIT)
    assert rows.count() == 2
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.state)")) == {"FAILURE"}
    # A time window preset joins the other filters in the URL.
    page.locator('[data-testid="task-window"] [data-within="24h"]').click()
    page.wait_for_url("**within=24h**")
    page.reload()
    assert page.locator('[data-testid="task-window"] [data-within="24h"]').get_attribute("aria-pressed") == "true"
    rows.nth(1).wait_for(timeout=WAIT)
    assert rows.count() == 2
    _clean(page)


def test_task_timeline_view_in_the_url(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server + "#/tasks?state=FAILURE")
    page.locator('[data-testid="task-row"]').first.wait_for(timeout=WAIT)
    page.locator('[data-testid="task-view"] [data-view="timeline"]').click()
    page.wait_for_url("**view=timeline**")
    assert "state=FAILURE" in page.url
    page.reload()
    rows = page.locator('[data-testid="task-timeline"] [data-testid="gantt-row"]')
    rows.nth(1).wait_for(timeout=WAIT)
    # The two failed tasks, as failure-coloured bars on one axis, oldest first; no critical path.
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.taskId)")) == {ran.failed, ran.xss_failed}
    bars = page.locator('[data-testid="task-timeline"] .gantt-bar')
    assert all("state-failure" in c for c in bars.evaluate_all("bs => bs.map(b => b.className)"))
    assert page.locator('[data-testid="task-timeline"] .gantt-row.is-critical').count() == 0
    screenshot(page, "tasks-timeline")
    rows.first.click()
    page.wait_for_url("**#/tasks/*")
    page.go_back()
    page.locator('[data-testid="task-view"] [data-view="list"]').click()
    page.locator('[data-testid="task-row"]').first.wait_for(timeout=WAIT)
    assert "view=" not in page.url and "state=FAILURE" in page.url
    _clean(page)


def test_registry_lists_task_names_and_links_to_their_runs(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server + "#/registry")
    add = page.locator(f'[data-testid="registry-row"][data-name="{T}.add"]')
    add.wait_for(timeout=WAIT)
    assert add.get_attribute("data-status") == "active"
    never_run = page.locator(f'[data-testid="registry-row"][data-name="{T}.mul"][data-status="never_run"]')
    never_run.wait_for(timeout=WAIT)
    assert "Add two numbers." in add.inner_text()
    screenshot(page, "registry")
    add.locator('[data-testid="view-runs"]').click()
    page.wait_for_url(f"**#/tasks?name_exact={T}.add")
    rows = page.locator('[data-testid="task-row"]')
    rows.nth(8).wait_for(timeout=WAIT)  # 3 chain steps, 3 group members, 3 chord header members
    assert set(rows.evaluate_all("rs => rs.map(r => r.querySelector('a').textContent)")) == {f"{T}.add"}
    _clean(page)


def _box_inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (outer["x"] <= inner["x"] and outer["y"] <= inner["y"]
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"])  # fmt: skip


def test_flows_list_and_chain_drawing(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server + "#/flows")
    row = page.locator(f'[data-testid="flow-row"][data-root-id="{ran.chain_root}"]')
    row.wait_for(timeout=WAIT)
    assert row.get_attribute("data-state") == "SUCCESS"
    assert row.locator('[data-testid="flow-task-count"]').inner_text() == "3"
    screenshot(page, "flows")
    row.locator("a").click()
    nodes = page.locator('[data-testid="flow-node"]')
    nodes.nth(2).wait_for(timeout=WAIT)
    assert nodes.count() == 3
    page.locator(".react-flow__edge").nth(1).wait_for(state="attached", timeout=WAIT)
    assert page.locator(".react-flow__edge").count() == 2
    screenshot(page, "flow-graph")
    _clean(page)


def test_flow_filters_live_in_the_url(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server + "#/flows")
    rows = page.locator('[data-testid="flow-row"]')
    rows.first.wait_for(timeout=WAIT)
    page.locator('[data-testid="flow-filters"] [data-testid="state-filter"][data-state="FAILURE"]').click()
    page.wait_for_url("**#/flows?state=FAILURE")
    page.locator('[data-testid="flow-filter-note"]').wait_for(timeout=WAIT)
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.state)")) == {"FAILURE"}
    assert {ran.failed, ran.xss_failed} <= set(rows.evaluate_all("rs => rs.map(r => r.dataset.rootId)"))
    # Name and time window join the state in the URL and survive a reload.
    page.locator('[data-testid="flow-filters"] [data-testid="state-filter"][data-state="FAILURE"]').click()
    page.locator('[data-testid="flow-filter-name"]').fill("FLAKY")
    page.wait_for_url("**name=FLAKY**")
    page.locator('[data-testid="flow-window"] [data-within="24h"]').click()
    page.wait_for_url("**within=24h**")
    page.reload()
    assert page.locator('[data-testid="flow-filter-name"]').input_value() == "FLAKY"
    assert page.locator('[data-testid="flow-window"] [data-within="24h"]').get_attribute("aria-pressed") == "true"
    page.locator(f'[data-testid="flow-row"][data-root-id="{ran.retried}"]').wait_for(timeout=WAIT)
    assert rows.count() == 1
    _clean(page)


def test_group_is_a_container_with_its_members(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(f"{module_server}#/flows/group:{ran.group_id}")
    box = page.locator('[data-testid="flow-container"][data-node-type="GROUP"]')
    box.wait_for(timeout=WAIT)
    nodes = page.locator('[data-testid="flow-node"]')
    nodes.nth(2).wait_for(timeout=WAIT)
    assert nodes.count() == 3
    outer = box.bounding_box()
    assert all(_box_inside(nodes.nth(i).bounding_box(), outer) for i in range(3))
    assert page.locator(".react-flow__edge").count() == 0
    _clean(page)


def test_chord_draws_header_box_callback_outside_and_gantt(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(f"{module_server}#/flows/group:{ran.chord_group_id}")
    box = page.locator('[data-testid="flow-container"][data-node-type="CHORD"]')
    box.wait_for(timeout=WAIT)
    callback = page.locator(f'[data-testid="flow-node"][data-task-id="{ran.chord_callback}"]')
    callback.wait_for(timeout=WAIT)
    assert page.locator('[data-testid="flow-node"]').count() == 4
    outer = box.bounding_box()
    assert not _box_inside(callback.bounding_box(), outer)
    nodes = page.locator('[data-testid="flow-node"]').all()
    members = [n for n in nodes if n.get_attribute("data-task-id") != ran.chord_callback]
    assert len(members) == 3 and all(_box_inside(m.bounding_box(), outer) for m in members)
    page.locator(".react-flow__edge.flow-edge-callback").nth(2).wait_for(state="attached", timeout=WAIT)
    assert page.locator(".react-flow__edge.flow-edge-callback").count() == 3
    screenshot(page, "flow-chord")

    # Gantt: same flow on one time axis; the critical path is the slowest header member then the callback.
    page.locator('[data-testid="view-toggle"] [data-view="gantt"]').click()
    page.wait_for_url("**view=gantt")
    rows = page.locator('[data-testid="gantt-row"]')
    rows.nth(3).wait_for(timeout=WAIT)
    assert rows.count() == 4
    critical = rows.evaluate_all("rs => rs.filter(r => r.dataset.critical === 'true').map(r => r.dataset.taskId)")
    assert len(critical) == 2 and critical[-1] == ran.chord_callback
    page.reload()
    page.locator('[data-testid="gantt"]').wait_for(timeout=WAIT)
    screenshot(page, "flow-gantt")
    _clean(page)


def test_task_detail_timeline_and_call(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(f"{module_server}#/tasks/{ran.retried}")
    page.locator('[data-testid="task-detail"][data-state="SUCCESS"]').wait_for(timeout=WAIT)
    attempts = page.locator('[data-testid="attempt"]')
    attempts.nth(2).wait_for(timeout=WAIT)
    assert attempts.count() == 3
    assert attempts.nth(0).locator('[data-testid="timeline-step"][data-state="RETRY"]').count() == 1
    assert attempts.nth(2).locator('[data-testid="timeline-step"][data-state="SUCCESS"]').count() == 1
    snippet = page.locator('[data-testid="call-snippet"]').inner_text()
    assert snippet == f"app.signature('{T}.flaky').apply_async(args=[2], kwargs={{}})"
    # UTC toggle: times end in Z, and the choice survives a reload.
    page.locator('[data-testid="timezone-toggle"]').click()
    page.reload()
    page.locator('[data-testid="timezone-toggle"][data-zone="utc"]').wait_for(timeout=WAIT)
    page.locator('[data-testid="timeline-step"]').first.wait_for(timeout=WAIT)
    assert page.locator('[data-testid="timeline-step"] .step-time').first.inner_text().endswith("Z")
    screenshot(page, "task")
    _clean(page)


def test_workers_page(ui_page: Any, module_server: str, module_worker: WorkerProcess, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server + "#/workers")
    row = page.locator(f'[data-testid="worker-row"][data-hostname="{module_worker.hostname}"]')
    row.wait_for(timeout=WAIT)
    # What the worker is running right now, linked to the task.
    sleeping = _s(ran.app, "sleepy", 4).delay()
    row.locator(f'[data-testid="running-task"][data-task-id="{sleeping.id}"]').wait_for(state="attached", timeout=WAIT)
    row.locator('[data-testid="worker-running"] summary').click()
    screenshot(page, "workers")
    assert sleeping.get(timeout=30) == 4
    row.locator('[data-testid="worker-running"]', has_text="idle").wait_for(timeout=WAIT)
    _clean(page)


def test_live_update_shows_a_new_task_without_reload(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    page.goto(module_server + "#/tasks")
    page.locator('[data-testid="connection-status"][data-mode="live"]').wait_for(timeout=WAIT)
    page.locator('[data-testid="task-row"]').first.wait_for(timeout=WAIT)
    result = _s(ran.app, "add", 100, 200).delay()
    assert result.get(timeout=30) == 300
    row = page.locator(f'[data-testid="task-row"][data-task-id="{result.id}"][data-state="SUCCESS"]')
    started = time.monotonic()
    row.wait_for(timeout=10_000)
    # Pushed by the feed, not found by the 15 s safety-net poll.
    assert time.monotonic() - started < 5
    _clean(page)


def test_task_data_is_text_never_markup(ui_page: Any, module_server: str, ran: Ran) -> None:
    page = ui_page
    # Task list: the name column of the unregistered task shows the string.
    page.goto(module_server + "#/tasks")
    named = page.locator(f'[data-testid="task-row"][data-task-id="{ran.xss_named}"]')
    named.wait_for(timeout=WAIT)
    assert named.locator("a").inner_text() == XSS
    # Its detail: title, args and kwargs as text.
    page.goto(f"{module_server}#/tasks/{ran.xss_named}")
    page.locator(".task-title").wait_for(timeout=WAIT)
    assert page.locator(".task-title").inner_text() == XSS
    assert XSS in page.locator('[data-testid="task-args"]').inner_text()
    assert XSS in page.locator('[data-testid="task-kwargs"]').inner_text()
    # A failure whose argument and exception message carry the string.
    page.goto(f"{module_server}#/tasks/{ran.xss_failed}")
    page.locator('[data-testid="task-exception"]').wait_for(timeout=WAIT)
    assert XSS in page.locator('[data-testid="task-exception"]').inner_text()
    assert XSS in page.locator('[data-testid="call-snippet"]').inner_text()
    # The flow graph and the Gantt chart of that name.
    page.goto(f"{module_server}#/flows/{ran.xss_named}?view=gantt")
    page.locator('[data-testid="gantt-row"]').first.wait_for(timeout=WAIT)
    assert page.locator('[data-testid="gantt-row"] .gantt-label').first.inner_text() == XSS
    page.goto(f"{module_server}#/flows/{ran.xss_named}")
    page.locator('[data-testid="flow-node"]').first.wait_for(timeout=WAIT)
    assert XSS in page.locator('[data-testid="flow-node"]').first.inner_text()
    page.goto(module_server + "#/registry")
    page.locator('[data-testid="registry-row"]').first.wait_for(timeout=WAIT)
    assert page.locator(f'[data-testid="registry-row"][data-name="{XSS}"]').count() == 1
    page.wait_for_timeout(300)
    assert page.locator("img[src='x']").count() == 0
    _clean(page)


def _pages(base: str, ran: Ran) -> list[str]:
    return [base, base + "#/tasks", f"{base}#/tasks/{ran.retried}", base + "#/flows",
            f"{base}#/flows/group:{ran.chord_group_id}", base + "#/registry", base + "#/workers"]  # fmt: skip


def test_no_request_leaves_the_server(ui_page: Any, module_server: str, ran: Ran) -> None:
    """Fonts, icons and scripts are bundled: every request and socket goes to the stemtrace server."""
    page = ui_page
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    for url in _pages(module_server, ran):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    origin = module_server.split("/stemtrace/")[0]
    assert urls and all(u.startswith((origin + "/", origin.replace("http", "ws", 1) + "/")) for u in urls), urls
    _clean(page)


def test_every_page_fits_a_360_px_screen(browser: Any, module_server: str, ran: Ran) -> None:
    """No page scrolls sideways on a narrow phone (wide tables scroll inside their own box)."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        for url in _pages(module_server, ran):
            page.goto(url)
            page.locator("main .page, main .notice").first.wait_for(timeout=WAIT)
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{url} is {width} px wide"
    finally:
        context.close()
