"""A 2,000-task flow on the flow page (tests/support/large_flow.py, written straight to the stream).

It opens at reading zoom on its root with only the cards in view rendered and the minimap showing every
node; every edge is drawn, to cards out of view too; a live update that grows the flow keeps the user's
pan and zoom; the canvas's fit control draws the whole flow.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import redis

from tests.e2e.conftest import screenshot
from tests.support.large_flow import EDGES, NAME, NODES, TASKS, ingest, task_events

pytestmark = [pytest.mark.redis, pytest.mark.browser]

WAIT = 20_000
VIEWPORT = ".react-flow__viewport"


def _curves(page: Any) -> int:
    """Edges drawn by the edge layer of a large flow: one `M` (a new curve) each in its paths."""
    return page.locator('[data-testid="flow-edge-layer"] path').evaluate_all(
        "ps => ps.reduce((n, p) => n + (p.getAttribute('d').match(/M/g) || []).length, 0)"
    )


def _transform(page: Any) -> str:
    return page.locator(VIEWPORT).evaluate("v => v.style.transform")


def test_large_flow_opens_on_its_root_and_keeps_the_view_through_updates(ui_page: Any, server: str, redis_url: str,
                                                                         stream_prefix: str) -> None:  # fmt: skip
    key = f"{stream_prefix}:events"
    root = ingest(redis_url, key, server)
    page = ui_page
    page.goto(f"{server}#/flows/{root}")
    card = page.locator(f'[data-testid="flow-node"][data-task-id="{root}"]')
    card.wait_for(timeout=WAIT)

    # Readable: the root's card shows its text, and it lies inside the canvas.
    assert card.locator(".flow-task-name").inner_text() == NAME
    canvas = page.locator('[data-testid="flow-canvas"]').bounding_box()
    box = card.bounding_box()
    assert canvas and box
    assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"]
    assert canvas["y"] <= box["y"] and box["y"] + box["height"] <= canvas["y"] + canvas["height"]
    # Only the cards in view are in the DOM, each of them at least partly inside the canvas.
    cards = page.locator('[data-testid="flow-node"]')
    boxes = cards.evaluate_all("cs => cs.map(c => c.getBoundingClientRect().toJSON())")
    assert 0 < len(boxes) < TASKS // 10
    for b in boxes:
        assert b["right"] > canvas["x"] and b["left"] < canvas["x"] + canvas["width"], b
        assert b["bottom"] > canvas["y"] and b["top"] < canvas["y"] + canvas["height"], b
    # The minimap has a mark for every node (2,000 tasks and the chord's box).
    minimap = page.locator(".react-flow__minimap-node")
    minimap.nth(NODES - 1).wait_for(state="attached", timeout=WAIT)
    assert minimap.count() == NODES
    # Every edge is drawn, in view or not, as a curve of the edge layer's few paths; cards need no handles.
    assert _curves(page) == EDGES
    assert page.locator(".react-flow__handle").count() == 0
    screenshot(page, "flow-large")

    # A click on a card opens its side panel.
    card.click()
    page.locator(f'[data-testid="node-panel"][data-task-id="{root}"]').wait_for(timeout=WAIT)

    # The user pans; then the flow grows by a task (a new shape, so a new layout): the view stays put.
    pane = page.locator(".react-flow__pane").bounding_box()
    assert pane
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2)
    page.mouse.down()
    page.mouse.move(pane["x"] + pane["width"] / 2 - 300, pane["y"] + pane["height"] / 2 - 150, steps=5)
    page.mouse.up()
    panned = _transform(page)
    late = "late-child-of-root"
    pipe = redis.Redis.from_url(redis_url).pipeline(transaction=False)
    for data in task_events(late, datetime.now(timezone.utc), parent_id=root, root_id=root):
        pipe.xadd(key, {"data": data})
    pipe.execute()
    minimap.nth(NODES).wait_for(state="attached", timeout=WAIT)
    assert _transform(page) == panned

    # The fit control zooms out to the whole flow: every card and every edge drawn.
    assert _curves(page) == EDGES + 1
    page.locator(".react-flow__controls-fitview").click()
    cards.nth(TASKS).wait_for(state="attached", timeout=WAIT)
    assert cards.count() == TASKS + 1
    assert page.dialogs == [] and page.errors == []
