import { describe, expect, it } from "vitest";
import type { TaskNode } from "../api/types";
import { runningByWorker } from "./running";

const task = (task_id: string, hostname: string | null, extra: Partial<TaskNode> = {}) =>
  ({ task_id, name: "t", state: "STARTED", hostname, ...extra }) as TaskNode;

describe("runningByWorker", () => {
  it("groups started tasks by worker, skipping lost, finished and unplaced ones", () => {
    const byWorker = runningByWorker([
      task("a", "w1"),
      task("b", "w2"),
      task("c", "w1"),
      task("d", "w1", { state: "SUCCESS" }),
      task("e", "w2", { interrupted: "worker_offline" }),
      task("f", null),
    ]);
    expect([...byWorker.keys()]).toEqual(["w1", "w2"]);
    expect(byWorker.get("w1")!.map((t) => t.task_id)).toEqual(["a", "c"]);
    expect(byWorker.get("w2")!.map((t) => t.task_id)).toEqual(["b"]);
  });
});
