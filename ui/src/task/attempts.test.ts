import { describe, expect, it } from "vitest";
import type { TaskEvent } from "../api/types";
import { attempts } from "./attempts";

const ev = (state: TaskEvent["state"], ms: number, retries: number | null, hostname: string | null = null) =>
  ({ state, timestamp: new Date(Date.UTC(2024, 0, 1) + ms).toISOString(), retries, hostname }) as TaskEvent;

describe("attempts", () => {
  it("splits by retry count and measures each step", () => {
    const result = attempts([
      ev("PENDING", 0, 0),
      ev("RECEIVED", 5, 0, "w1"),
      ev("STARTED", 7, 0, "w1"),
      ev("RETRY", 20, 0, "w1"),
      ev("PENDING", 21, 1),
      ev("RECEIVED", 30, 1, "w2"),
      ev("STARTED", 31, 1, "w2"),
      ev("SUCCESS", 50, 1, "w2"),
    ]);
    expect(result.map((a) => [a.number, a.hostname, a.steps.map((s) => s.label)])).toEqual([
      [0, "w1", ["queued", "received", "started", "retried"]],
      [1, "w2", ["queued", "received", "started", "finished: success"]],
    ]);
    expect(result[0]!.steps.map((s) => s.sinceMs)).toEqual([null, 5, 2, 13]);
  });

  it("starts a new attempt after a retry when events carry no count", () => {
    const result = attempts([ev("STARTED", 0, null), ev("RETRY", 1, null), ev("STARTED", 2, null), ev("FAILURE", 3, null)]);
    expect(result.map((a) => a.steps.length)).toEqual([2, 2]);
    expect(result[1]!.steps[1]!.label).toBe("finished: failure");
  });
});
