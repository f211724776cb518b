import { afterEach, describe, expect, it, vi } from "vitest";
import { mockApi, render } from "../test/render";
import { TaskPage } from "./TaskPage";

afterEach(() => {
  vi.unstubAllGlobals();
});

const event = (state: string, timestamp: string, extra: object = {}) => ({
  task_id: "t1",
  name: "tasks.risky",
  state,
  timestamp,
  root_id: "root-9",
  retries: 0,
  ...extra,
});

describe("TaskPage", () => {
  it("shows payloads, the exception and the flow link", async () => {
    mockApi({
      "tasks/t1": {
        task: {
          task_id: "t1",
          name: "tasks.risky",
          state: "FAILURE",
          node_type: "TASK",
          children: ["c1"],
          exception_type: "ValueError",
          runtime_ms: 2500,
          events: [
            event("STARTED", "2024-01-01T00:00:01Z"),
            event("PENDING", "2024-01-01T00:00:00Z", { args: ["<img src=x onerror=alert(1)>"], kwargs: { n: 1 } }),
            event("FAILURE", "2024-01-01T00:00:02Z", {
              exception: "boom",
              exception_type: "ValueError",
              traceback: "Traceback...\nValueError: boom",
            }),
          ],
        },
        children: [{ task_id: "c1", name: "tasks.child", state: "SUCCESS", node_type: "TASK" }],
      },
    });
    const { container, unmount } = await render(<TaskPage taskId="t1" />);
    const detail = container.querySelector<HTMLElement>('[data-testid="task-detail"]')!;
    expect(detail.dataset.state).toBe("FAILURE");
    expect(detail.querySelector('[data-testid="flow-link"]')!.getAttribute("href")).toBe("#/flows/root-9");
    expect(detail.querySelector("pre.traceback")!.textContent).toBe("Traceback...\nValueError: boom");
    expect(detail.querySelector('[data-testid="task-args"]')!.textContent).toContain('"<img src=x onerror=alert(1)>"');
    expect(detail.querySelector("img")).toBeNull();
    const states = [...detail.querySelectorAll<HTMLElement>('[data-testid="event-row"]')].map((r) => r.dataset.state);
    expect(states).toEqual(["PENDING", "STARTED", "FAILURE"]);
    expect(detail.querySelector('[data-testid="child-link"]')!.getAttribute("href")).toBe("#/tasks/c1");
    expect(detail.textContent).toContain("2.50 s");
    unmount();
  });

  it("reports an unknown task", async () => {
    mockApi({});
    const { container, unmount } = await render(<TaskPage taskId="nope" />);
    expect(container.querySelector('[role="alert"]')!.textContent).toContain("Not found");
    unmount();
  });
});
