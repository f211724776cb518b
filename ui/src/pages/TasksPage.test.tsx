import { afterEach, describe, expect, it, vi } from "vitest";
import type { TaskNode } from "../api/types";
import { mockApi, render } from "../test/render";
import { TasksPage } from "./TasksPage";

const task = (id: string, state: TaskNode["state"], name: string) =>
  ({ task_id: id, name, state, node_type: "TASK", children: [], duration_ms: 1500, first_seen: null, last_updated: null }) as unknown as TaskNode;

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("TasksPage", () => {
  it("renders one row per task with its id, state and name, and sends the filters", async () => {
    const calls = mockApi({
      tasks: { tasks: [task("t1", "SUCCESS", "tasks.add"), task("t2", "FAILURE", "<b>evil</b>")], total: 2, limit: 50, offset: 0 },
    });
    const { container, unmount } = await render(
      <TasksPage query={new URLSearchParams("state=FAILURE,SUCCESS&name=add")} replaceQuery={() => {}} />,
    );
    const rows = [...container.querySelectorAll<HTMLElement>('[data-testid="task-row"]')];
    expect(rows.map((r) => [r.dataset.taskId, r.dataset.state])).toEqual([
      ["t1", "SUCCESS"],
      ["t2", "FAILURE"],
    ]);
    expect(rows[0]!.textContent).toContain("tasks.add");
    // task data is text, never markup
    expect(rows[1]!.querySelector("b")).toBeNull();
    expect(rows[1]!.textContent).toContain("<b>evil</b>");
    expect(calls[0]).toContain("api/tasks?compact=1&state=SUCCESS%2CFAILURE&name=add&limit=100&offset=0");
    expect(container.querySelector('[data-testid="task-total"]')!.textContent).toBe("2 tasks");
    unmount();
  });

  it("draws only a window of rows for a million tasks, sized by the total", async () => {
    const tasks = Array.from({ length: 100 }, (_, i) => task(`t${i}`, "SUCCESS", "tasks.add"));
    mockApi({ tasks: { tasks, total: 1_000_000, limit: 100, offset: 0 } });
    const { container, unmount } = await render(<TasksPage query={new URLSearchParams()} replaceQuery={() => {}} />);
    const rows = container.querySelectorAll('[data-testid="task-row"]');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(50);
    expect(container.querySelector('[data-testid="task-table"]')!.getAttribute("aria-rowcount")).toBe("1000001");
    expect(container.querySelector<HTMLElement>(".vspace")!.style.height).toBe("10000000px");
    unmount();
  });

  it("shows the filtered tasks on one time axis in the timeline view", async () => {
    const timed = (id: string, state: TaskNode["state"], start: string, end: string) =>
      ({ ...task(id, state, `tasks.${id}`), first_seen: start, last_updated: end, duration_ms: Date.parse(end) - Date.parse(start) }) as TaskNode;
    const calls = mockApi({
      tasks: {
        tasks: [timed("b", "FAILURE", "2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z"), timed("a", "SUCCESS", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z")],
        total: 2,
        limit: 500,
        offset: 0,
      },
    });
    const { container, unmount } = await render(<TasksPage query={new URLSearchParams("view=timeline&state=SUCCESS,FAILURE")} replaceQuery={() => {}} />);
    expect(calls[0]).toContain("api/tasks?compact=1&state=SUCCESS%2CFAILURE&limit=500&offset=0");
    const rows = [...container.querySelectorAll<HTMLElement>('[data-testid="gantt-row"]')];
    expect(rows.map((r) => r.dataset.taskId)).toEqual(["a", "b"]);
    expect(rows[1]!.querySelector<HTMLElement>(".gantt-bar")!.style.left).toBe("50%");
    expect(rows[1]!.querySelector(".gantt-bar")!.className).toContain("state-failure");
    expect(container.querySelector('[data-view="timeline"]')!.getAttribute("aria-pressed")).toBe("true");
    expect(container.textContent).not.toContain("critical path");
    unmount();
  });

  it("says so when nothing matches", async () => {
    mockApi({ tasks: { tasks: [], total: 0, limit: 50, offset: 0 } });
    const { container, unmount } = await render(<TasksPage query={new URLSearchParams("queue=q")} replaceQuery={() => {}} />);
    expect(container.textContent).toContain("No task matches these filters.");
    unmount();
  });
});
