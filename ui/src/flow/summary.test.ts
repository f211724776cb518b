import { describe, expect, it } from "vitest";
import type { GraphNode } from "../api/types";
import { flowDurationMs, stateCounts } from "./summary";

const node = (id: string, state: GraphNode["state"], node_type: GraphNode["node_type"] = "TASK") =>
  ({ task_id: id, state, node_type }) as GraphNode;

describe("stateCounts", () => {
  it("counts tasks by state in lifecycle order, skipping containers", () => {
    const nodes = {
      a: node("a", "SUCCESS"),
      b: node("b", "FAILURE"),
      c: node("c", "SUCCESS"),
      d: node("d", "STARTED"),
      "group:g": node("group:g", "FAILURE", "GROUP"),
    };
    expect(stateCounts(nodes)).toEqual([
      ["STARTED", 1],
      ["SUCCESS", 2],
      ["FAILURE", 1],
    ]);
  });
});

describe("flowDurationMs", () => {
  const root = { task_id: "r", duration_ms: 5 } as GraphNode;
  it("spans the whole flow", () => {
    expect(flowDurationMs({ ...root, flow_first_seen: "2024-01-01T00:00:00Z", flow_last_updated: "2024-01-01T00:00:02.5Z" })).toBe(2500);
  });
  it("falls back to the root's duration", () => {
    expect(flowDurationMs(root)).toBe(5);
  });
});
