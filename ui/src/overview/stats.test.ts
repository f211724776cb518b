import { describe, expect, it } from "vitest";
import { change, stack, windowFrom } from "./stats";

describe("change", () => {
  it.each([
    [{ value: 125, baseline: 100 }, "+25%"],
    [{ value: 90, baseline: 100 }, "−10%"],
    [{ value: 100, baseline: 100 }, "±0%"],
    [{ value: 3, baseline: 0 }, "new"],
    [{ value: 0, baseline: 0 }, "±0%"],
  ])("%o → %s", (compared, text) => {
    expect(change(compared)).toBe(text);
  });
});

describe("windowFrom", () => {
  it("reads a known window and defaults to an hour", () => {
    expect(windowFrom(new URLSearchParams("within=6h"))).toBe("6h");
    expect(windowFrom(new URLSearchParams("within=3y"))).toBe("1h");
    expect(windowFrom(new URLSearchParams())).toBe("1h");
  });
});

describe("stack", () => {
  it("stacks states in lifecycle order and skips empty ones", () => {
    const result = stack({
      window: { start: "a", end: "b" },
      bucket_seconds: 60,
      starts: ["t0", "t1"],
      counts: { SUCCESS: [3, 0], FAILURE: [1, 2], RETRY: [0, 0], STARTED: [2, 0] },
    });
    expect(result.states).toEqual(["STARTED", "SUCCESS", "FAILURE"]);
    expect(result.max).toBe(6);
    expect(result.buckets[0]).toEqual({
      start: "t0",
      total: 6,
      segments: [
        { state: "STARTED", count: 2, below: 0 },
        { state: "SUCCESS", count: 3, below: 2 },
        { state: "FAILURE", count: 1, below: 5 },
      ],
    });
    expect(result.buckets[1]!.segments).toEqual([{ state: "FAILURE", count: 2, below: 0 }]);
  });
});
