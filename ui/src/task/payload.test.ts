import { describe, expect, it } from "vitest";
import type { TaskEvent, TaskNode } from "../api/types";
import { flowRootOf, latest, sortedEvents } from "./payload";

const event = (extra: Partial<TaskEvent>): TaskEvent =>
  ({ task_id: "t", state: "PENDING", timestamp: null, root_id: null, args: null, result: null, ...extra }) as TaskEvent;

const node = (events: TaskEvent[] | null): TaskNode => ({ task_id: "t", events }) as TaskNode;

describe("task payload helpers", () => {
  const events = [
    event({ state: "SUCCESS", timestamp: "2024-01-01T00:00:03Z", result: 3 }),
    event({ state: "PENDING", timestamp: "2024-01-01T00:00:01Z", args: [1, 2], root_id: "r" }),
    event({ state: "STARTED", timestamp: "2024-01-01T00:00:02Z" }),
  ];

  it("orders events by time", () => {
    expect(sortedEvents(node(events)).map((e) => e.state)).toEqual(["PENDING", "STARTED", "SUCCESS"]);
    expect(sortedEvents(node(null))).toEqual([]);
  });

  it("takes the newest non-null value", () => {
    const sorted = sortedEvents(node(events));
    expect(latest(sorted, "args")).toEqual([1, 2]);
    expect(latest(sorted, "result")).toBe(3);
    expect(latest(sorted, "exception")).toBeUndefined();
  });

  it("finds the flow root, falling back to the task", () => {
    expect(flowRootOf(node(events))).toBe("r");
    expect(flowRootOf(node([]))).toBe("t");
  });
});
