"""The foundation path seen in a real browser: a chain run by a real worker shows in the UI."""

from __future__ import annotations

from typing import Any


def test_chain_tasks_show_in_task_list_and_flow(browser: Any, server: str, celery_worker_factory) -> None:
    worker = celery_worker_factory(pool="prefork", concurrency=2)
    client = worker.client_app()
    add = "examples.celery_app.add"
    result = (client.signature(add, (2, 3)) | client.signature(add, (4,)) | client.signature(add, (5,)))()
    assert result.get(timeout=30) == 14

    page = browser.new_page()
    page.goto(server + "#/tasks")
    rows = page.locator('[data-testid="task-row"][data-state="SUCCESS"]', has_text=add)
    rows.nth(2).wait_for(timeout=20_000)
    assert rows.count() == 3

    # The flows page lists the chain as one flow; its graph draws the three linked steps.
    page.goto(server + "#/flows")
    page.locator('[data-testid="flow-row"]').first.click()
    nodes = page.locator('[data-testid="flow-node"]')
    nodes.nth(2).wait_for(timeout=20_000)
    assert nodes.count() == 3
    # Edges are drawn once the nodes are measured, a frame after the nodes appear.
    page.locator(".react-flow__edge").nth(1).wait_for(state="attached", timeout=20_000)
    assert page.locator(".react-flow__edge").count() == 2
    page.close()
