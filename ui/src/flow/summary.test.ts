import { describe, expect, it } from "vitest";
import type { GraphNode } from "../api/types";
import { stateCounts } from "./summary";

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
