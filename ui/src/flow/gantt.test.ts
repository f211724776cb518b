import { describe, expect, it } from "vitest";
import type { GraphNode } from "../api/types";
import { barGeometry, criticalPath, gantt, predecessors, span, ticks } from "./gantt";

const T0 = Date.parse("2024-01-01T00:00:00Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function task(id: string, start: number, end: number, extra: Partial<GraphNode> = {}): GraphNode {
  return {
    task_id: id,
    name: `t.${id}`,
    state: "SUCCESS",
    node_type: "TASK",
    group_id: null,
    chord_id: null,
    parent_id: null,
    children: [],
    first_seen: at(start),
    last_updated: at(end),
    duration_ms: end - start,
    ...extra,
  };
}

function container(id: string, type: "GROUP" | "CHORD", members: string[], extra: Partial<GraphNode> = {}): GraphNode {
  return { ...task(id, 0, 0), name: type.toLowerCase(), node_type: type, children: members, members, ...extra };
}

const byId = (...nodes: GraphNode[]) => Object.fromEntries(nodes.map((n) => [n.task_id, n]));

describe("criticalPath", () => {
  it("follows a chain end to end", () => {
    const nodes = byId(task("a", 0, 10), task("b", 10, 30, { parent_id: "a" }), task("c", 30, 35, { parent_id: "b" }));
    expect(criticalPath(nodes)).toEqual(["a", "b", "c"]);
  });

  it("goes through the slowest chord header member to the callback", () => {
    const nodes = byId(
      task("root", 0, 5, { children: ["group:g"] }),
      container("group:g", "CHORD", ["h1", "h2", "h3"], { parent_id: "root", chord_id: "cb" }),
      task("h1", 5, 20, { parent_id: "group:g" }),
      task("h2", 5, 90, { parent_id: "group:g" }),
      task("h3", 5, 40, { parent_id: "group:g" }),
      task("cb", 90, 100, { parent_id: "group:g" }),
    );
    expect(predecessors(nodes, "cb").sort()).toEqual(["h1", "h2", "h3"]);
    expect(predecessors(nodes, "h1")).toEqual(["root"]);
    expect(criticalPath(nodes)).toEqual(["root", "h2", "cb"]);
  });

  it("ends at the group member that finished last", () => {
    const nodes = byId(
      container("group:g", "GROUP", ["a", "b"]),
      task("a", 0, 50, { parent_id: "group:g" }),
      task("b", 0, 70, { parent_id: "group:g" }),
    );
    expect(criticalPath(nodes)).toEqual(["b"]);
  });

  it("treats a running task as ending now", () => {
    const nodes = byId(task("a", 0, 10), task("b", 10, 10, { parent_id: "a", state: "STARTED", duration_ms: null }), task("c", 0, 500));
    expect(criticalPath(nodes, T0 + 1000)).toEqual(["a", "b"]);
  });

  it("survives a parent cycle and an empty flow", () => {
    const nodes = byId(task("a", 0, 10, { parent_id: "b" }), task("b", 0, 5, { parent_id: "a" }));
    expect(criticalPath(nodes)).toEqual(["b", "a"]);
    expect(criticalPath({})).toEqual([]);
  });
});

describe("gantt", () => {
  it("places bars on one axis, marks the critical ones and skips containers", () => {
    const nodes = byId(
      container("group:g", "GROUP", ["x", "y"]),
      task("x", 0, 40, { parent_id: "group:g", queue_wait_ms: 5 }),
      task("y", 10, 20, { parent_id: "group:g" }),
    );
    const chart = gantt(nodes);
    expect(chart.start).toBe(T0);
    expect(chart.end).toBe(T0 + 40);
    expect(chart.bars.map((b) => [b.node.task_id, b.critical, b.queueMs])).toEqual([
      ["x", true, 5],
      ["y", false, 0],
    ]);
  });

  it("skips tasks without a start time", () => {
    expect(span(task("a", 0, 1, { first_seen: null }), T0)).toBeUndefined();
  });
});

describe("ticks", () => {
  it("uses round steps", () => {
    expect(ticks(1000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(ticks(95)).toEqual([0, 20, 40, 60, 80]);
    expect(ticks(0)).toEqual([0]);
  });
});

describe("barGeometry", () => {
  it("places a bar on the axis in percent, its queue wait as a share of the bar", () => {
    const chart = gantt(byId(task("a", 0, 1000, { queue_wait_ms: 250 }), task("b", 500, 2000)), T0 + 5000, false);
    const [a, b] = chart.bars;
    expect(barGeometry(a!, chart)).toEqual({ left: 0, width: 50, queue: 25 });
    expect(barGeometry(b!, chart)).toEqual({ left: 25, width: 75, queue: 0 });
  });

  it("gives an instant task a visible width, and a one-task chart the whole axis", () => {
    const chart = gantt(byId(task("a", 0, 10_000), task("b", 4000, 4000)), T0, false);
    expect(barGeometry(chart.bars.find((bar) => bar.node.task_id === "b")!, chart)).toEqual({ left: 40, width: 0.2, queue: 0 });
    const single = gantt(byId(task("a", 0, 0)), T0, false);
    expect(barGeometry(single.bars[0]!, single).left).toBe(0);
  });

  it("leaves out the critical path for tasks that are not one flow", () => {
    const chart = gantt(byId(task("a", 0, 1000), task("b", 500, 2000, { parent_id: "a" })), T0, false);
    expect(chart.critical).toEqual([]);
    expect(chart.bars.some((bar) => bar.critical)).toBe(false);
  });
});
