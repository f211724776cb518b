import { describe, expect, it } from "vitest";
import { benchFlow, chain, container, graph, task } from "../test/graphs";
import { containerOf, findPacks, gridColumns, layoutFlow, structureKey, TASK_WIDTH, type FlowLayout, type PlacedNode } from "./layout";

/** Absolute box of a placed node (its position is relative to its container). */
function absolute(layout: FlowLayout, id: string): { x: number; y: number; width: number; height: number } {
  const node = layout.nodes.find((n) => n.id === id) as PlacedNode;
  const origin = node.parentId ? absolute(layout, node.parentId) : { x: 0, y: 0 };
  return { x: node.x + origin.x, y: node.y + origin.y, width: node.width, height: node.height };
}

function inside(layout: FlowLayout, inner: string, outer: string): boolean {
  const a = absolute(layout, inner);
  const b = absolute(layout, outer);
  return a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;
}

function overlaps(layout: FlowLayout, one: string, other: string): boolean {
  const a = absolute(layout, one);
  const b = absolute(layout, other);
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

const edgeIds = (layout: FlowLayout) => layout.edges.map((e) => `${e.kind}:${e.id}`).sort();

describe("layoutFlow", () => {
  it("lays out a chain left to right", () => {
    const layout = layoutFlow(graph(task("a", ["b"]), task("b", ["c"]), task("c")));
    expect(edgeIds(layout)).toEqual(["child:a->b", "child:b->c"]);
    const [a, b, c] = ["a", "b", "c"].map((id) => absolute(layout, id));
    expect(a!.x + TASK_WIDTH).toBeLessThan(b!.x);
    expect(b!.x + TASK_WIDTH).toBeLessThan(c!.x);
    expect(layout.nodes.every((n) => n.kind === "task" && n.parentId === undefined)).toBe(true);
  });

  it("draws a group as a box around its members, linked from the parent", () => {
    const layout = layoutFlow(graph(task("p", ["group:g"]), container("group:g", "GROUP", ["a", "b"]), task("a"), task("b")));
    expect(edgeIds(layout)).toEqual(["child:p->group:g"]);
    const box = layout.nodes.find((n) => n.id === "group:g")!;
    expect(box.kind).toBe("container");
    expect(layout.nodes.find((n) => n.id === "a")!.parentId).toBe("group:g");
    expect(inside(layout, "a", "group:g")).toBe(true);
    expect(inside(layout, "b", "group:g")).toBe(true);
    expect(overlaps(layout, "a", "b")).toBe(false);
    expect(overlaps(layout, "p", "group:g")).toBe(false);
    expect(absolute(layout, "p").x + TASK_WIDTH).toBeLessThan(box.x);
    // parents come before their children (xyflow requirement)
    expect(layout.nodes.findIndex((n) => n.id === "group:g")).toBeLessThan(layout.nodes.findIndex((n) => n.id === "a"));
  });

  it("puts a chord callback outside the box with an edge from every header member", () => {
    const nodes = graph(
      container("group:h", "CHORD", ["a", "b", "c"], "cb"),
      task("a"),
      task("b"),
      task("c"),
      task("cb", [], { parent_id: "a" }),
    );
    const layout = layoutFlow(nodes);
    expect(edgeIds(layout)).toEqual(["callback:a->cb", "callback:b->cb", "callback:c->cb"]);
    const callback = layout.nodes.find((n) => n.id === "cb")!;
    expect(callback.parentId).toBeUndefined();
    expect(overlaps(layout, "cb", "group:h")).toBe(false);
    const box = absolute(layout, "group:h");
    expect(callback.x).toBeGreaterThan(box.x + box.width);
    for (const id of ["a", "b", "c"]) expect(inside(layout, id, "group:h")).toBe(true);
  });

  it("keeps the callback outside even when the chord lists it as a member, and draws no duplicate edge", () => {
    const nodes = graph(container("group:h", "CHORD", ["a", "cb"], "cb"), task("a", ["cb"]), task("cb"));
    const layout = layoutFlow(nodes);
    expect(layout.nodes.find((n) => n.id === "cb")!.parentId).toBeUndefined();
    expect(layout.edges).toHaveLength(1);
    expect(layout.edges[0]!.id).toBe("a->cb");
  });

  it("nests containers: a chord inside a group, chains inside members", () => {
    const nodes = graph(
      task("root", ["group:outer"]),
      container("group:outer", "GROUP", ["x", "group:inner"]),
      task("x", ["x2"]),
      task("x2"),
      container("group:inner", "CHORD", ["a", "b"], "cb"),
      task("a"),
      task("b"),
      task("cb"),
    );
    const layout = layoutFlow(nodes);
    expect(edgeIds(layout)).toEqual([
      "callback:a->cb",
      "callback:b->cb",
      "child:root->group:outer",
      "child:x->x2",
    ]);
    expect(layout.nodes.find((n) => n.id === "group:inner")!.parentId).toBe("group:outer");
    expect(inside(layout, "group:inner", "group:outer")).toBe(true);
    expect(inside(layout, "a", "group:inner")).toBe(true);
    expect(inside(layout, "x", "group:outer")).toBe(true);
    // the callback of the inner chord sits beside it, inside the outer group
    expect(layout.nodes.find((n) => n.id === "cb")!.parentId).toBe("group:outer");
    expect(overlaps(layout, "cb", "group:inner")).toBe(false);
    // x2 is a chain continuation, not a member: outside the group
    expect(layout.nodes.find((n) => n.id === "x2")!.parentId).toBeUndefined();
    const depthOrder = layout.nodes.map((n) => n.id);
    expect(depthOrder.indexOf("group:outer")).toBeLessThan(depthOrder.indexOf("group:inner"));
    expect(depthOrder.indexOf("group:inner")).toBeLessThan(depthOrder.indexOf("a"));
  });

  it("skips a direct edge to a member already reached through its container", () => {
    const nodes = graph(task("p", ["a", "b", "group:g"]), container("group:g", "GROUP", ["a", "b"]), task("a"), task("b"));
    expect(edgeIds(layoutFlow(nodes))).toEqual(["child:p->group:g"]);
  });

  it("tolerates missing children, self links and containment cycles", () => {
    const nodes = graph(
      task("a", ["a", "ghost", "b"]),
      task("b"),
      container("group:1", "GROUP", ["group:2"]),
      container("group:2", "GROUP", ["group:1", "c"]),
      task("c"),
    );
    const parent = containerOf(nodes);
    expect(parent.get("group:2")).toBe("group:1");
    expect(parent.has("group:1")).toBe(false);
    const layout = layoutFlow(nodes);
    expect(edgeIds(layout)).toEqual(["child:a->b"]);
    expect(layout.nodes).toHaveLength(5);
  });

  it("draws an empty container as a plain box", () => {
    const layout = layoutFlow(graph(container("group:e", "GROUP", ["not-yet-seen"])));
    expect(layout.nodes).toEqual([
      expect.objectContaining({ id: "group:e", kind: "container", width: TASK_WIDTH }),
    ]);
  });
});

describe("structureKey", () => {
  it("ignores state and timing but not shape", () => {
    const base = graph(task("a", ["b"]), task("b"));
    const running = graph(task("a", ["b"], { state: "STARTED", duration_ms: 5 }), task("b"));
    const grown = graph(task("a", ["b", "c"]), task("b"), task("c"));
    expect(structureKey(running)).toBe(structureKey(base));
    expect(structureKey(grown)).not.toBe(structureKey(base));
  });
});

describe("large containers", () => {
  it("packs many plain members into a grid inside the box, quickly", () => {
    const members = Array.from({ length: 400 }, (_, i) => `m${i}`);
    const nodes = graph(
      task("root", ["group:big"]),
      container("group:big", "CHORD", [...members, "chained"], "cb"),
      ...members.map((id) => task(id)),
      task("chained", ["after"]),
      task("after"),
      task("cb"),
    );
    const started = performance.now();
    const layout = layoutFlow(nodes);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(layout.edges.filter((e) => e.kind === "callback")).toHaveLength(401);
    for (const id of ["m0", "m57", "m399", "chained"]) expect(inside(layout, id, "group:big")).toBe(true);
    expect(overlaps(layout, "m0", "m1")).toBe(false);
    expect(overlaps(layout, "m0", "chained")).toBe(false);
    expect(overlaps(layout, "m399", "chained")).toBe(false);
    const box = absolute(layout, "group:big");
    expect(absolute(layout, "cb").x).toBeGreaterThan(box.x + box.width);
    expect(absolute(layout, "root").x + TASK_WIDTH).toBeLessThan(box.x);
    // a roughly square grid, not one 400-high column
    expect(box.height).toBeLessThan(box.width * 3);
  });

  it("leaves small groups to dagre: one column", () => {
    const members = ["a", "b", "c", "d", "e"];
    const layout = layoutFlow(graph(container("group:g", "GROUP", members), ...members.map((id) => task(id))));
    expect(new Set(members.map((id) => absolute(layout, id).x)).size).toBe(1);
    expect(gridColumns(1)).toBe(1);
    expect(gridColumns(400)).toBeGreaterThan(5);
  });
});

describe("large fan-outs and long chains", () => {
  it("packs a task's many leaf children into a grid beside it, with an edge to each", () => {
    const leaves = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const layout = layoutFlow(graph(task("p", [...leaves, "q"]), ...leaves.map((id) => task(id)), task("q", ["r"]), task("r")));
    expect(layout.edges.filter((e) => e.source === "p")).toHaveLength(31);
    const columns = new Set(leaves.map((id) => absolute(layout, id).x));
    expect(columns.size).toBeGreaterThan(1); // a grid, not one 30-high column
    for (const id of leaves) expect(absolute(layout, id).x).toBeGreaterThan(absolute(layout, "p").x + TASK_WIDTH);
    for (const id of leaves) expect(overlaps(layout, id, "q")).toBe(false);
    expect(overlaps(layout, "l0", "l1")).toBe(false);
  });

  it("does not pack children that have children of their own or another parent", () => {
    const kids = Array.from({ length: 14 }, (_, i) => `k${i}`);
    const nodes = graph(task("p", kids), task("other", ["k0"]), ...kids.map((id, i) => task(id, i === 1 ? ["g"] : [])), task("g"));
    const packs = findPacks(nodes, new Map(), new Map(), layoutFlow(nodes).edges);
    expect(packs).toEqual([kids.filter((id) => id !== "k0" && id !== "k1")]);
  });

  it("wraps a long chain into rows in order, and leaves a short one on a line", () => {
    const layout = layoutFlow(graph(...chain("s", 100)));
    const rows = new Set(Array.from({ length: 100 }, (_, i) => absolute(layout, `s${i}`).y));
    expect(rows.size).toBeGreaterThan(3);
    expect(absolute(layout, "s1").x).toBeGreaterThan(absolute(layout, "s0").x);
    expect(absolute(layout, "s99").y).toBeGreaterThan(absolute(layout, "s0").y);
    expect(layout.edges).toHaveLength(99);
    const short = layoutFlow(graph(...chain("t", 15)));
    expect(new Set(Array.from({ length: 15 }, (_, i) => absolute(short, `t${i}`).y)).size).toBe(1);
  });

  it("lays out a 2,000-task flow (chord of 400, chain of 608, 33 × 29 fan-out) compactly and fast", () => {
    const nodes = benchFlow();
    expect(Object.keys(nodes).length).toBe(2001); // 2,000 tasks and the chord box
    const started = performance.now();
    const layout = layoutFlow(nodes);
    expect(performance.now() - started).toBeLessThan(1000);
    const right = Math.max(...layout.nodes.map((n) => absolute(layout, n.id).x + n.width));
    const bottom = Math.max(...layout.nodes.map((n) => absolute(layout, n.id).y + n.height));
    // one rank per chain step would be 608 × 270 px wide; one row per fan leaf 957 × 100 px high
    expect(right).toBeLessThan(20_000);
    expect(bottom).toBeLessThan(40_000);
  });
});
