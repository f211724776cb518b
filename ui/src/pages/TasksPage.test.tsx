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
    expect(calls[0]).toContain("api/tasks?limit=50&offset=0&compact=1&state=SUCCESS%2CFAILURE&name=add");
    unmount();
  });

  it("says so when nothing matches", async () => {
    mockApi({ tasks: { tasks: [], total: 0, limit: 50, offset: 0 } });
    const { container, unmount } = await render(<TasksPage query={new URLSearchParams("queue=q")} replaceQuery={() => {}} />);
    expect(container.textContent).toContain("No task matches these filters.");
    unmount();
  });
});
