import { describe, expect, it } from "vitest";
import { container, graph, task } from "../test/graphs";
import { flowEdgeBuilder, flowNodeBuilder, nodeHandles, sameGraphNode } from "./elements";
import { layoutFlow } from "./layout";

// A refresh: the same flow parsed again, every object new.
const fresh = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe("sameGraphNode", () => {
  it("compares fields and the children list by value", () => {
    const a = task("a", ["b", "c"]);
    expect(sameGraphNode(a, fresh(a))).toBe(true);
    expect(sameGraphNode(a, task("a", ["b"]))).toBe(false);
    expect(sameGraphNode(a, task("a", ["b", "c"], { state: "FAILURE" }))).toBe(false);
    expect(sameGraphNode(a, task("a", ["b", "c"], { hostname: "w1" }))).toBe(false);
  });
});

describe("flowNodeBuilder and flowEdgeBuilder", () => {
  const flow = graph(task("p", ["group:g"]), container("group:g", "GROUP", ["a", "b"]), task("a"), task("b", [], { state: "STARTED" }));
  const layout = layoutFlow(flow);

  it("builds task and container nodes with their sizes and handles, and edges that take no clicks", () => {
    const nodes = flowNodeBuilder()(layout, flow, "a");
    const edges = flowEdgeBuilder()(layout, flow);
    const box = nodes.find((n) => n.id === "group:g")!;
    expect(box).toMatchObject({ type: "container", data: { members: 2 } });
    const a = nodes.find((n) => n.id === "a")!;
    expect(a).toMatchObject({ type: "task", parentId: "group:g", selected: true });
    expect(a.measured).toEqual({ width: a.width, height: a.height });
    expect(a.handles?.map((h) => h.type)).toEqual(["target", "source"]);
    expect(edges).toEqual([expect.objectContaining({ id: "p->group:g", animated: false, interactionWidth: 0 })]);
  });

  it("keeps the objects of unchanged nodes and edges across refreshes, and renews only what changed", () => {
    const [buildNodes, buildEdges] = [flowNodeBuilder(), flowEdgeBuilder()];
    const build = (l: typeof layout, f: typeof flow, selected: string | undefined) => ({
      nodes: buildNodes(l, f, selected),
      edges: buildEdges(l, f),
    });
    const first = build(layout, flow, undefined);
    const same = build(layout, fresh(flow), undefined);
    expect(same.nodes.every((node, i) => node === first.nodes[i])).toBe(true);
    expect(same.edges[0]).toBe(first.edges[0]);

    const updated = fresh(flow);
    updated["group:g"]!.state = "STARTED";
    const next = build(layout, updated, "b");
    const renewed = next.nodes.filter((node, i) => node !== same.nodes[i]).map((node) => node.id);
    expect(renewed.sort()).toEqual(["b", "group:g"]); // the state change and the selection
    expect(next.edges[0]).not.toBe(same.edges[0]); // its target now runs: animated
    expect(next.edges[0]!.animated).toBe(true);

    // A new layout (a new shape) renews everything: positions change.
    const grown = graph(...Object.values(fresh(flow)), task("c"));
    grown.p!.children = ["group:g", "c"];
    const regrown = build(layoutFlow(grown), grown, "b");
    expect(regrown.nodes.some((node) => same.nodes.includes(node))).toBe(false);
  });
});

describe("nodeHandles", () => {
  it("puts the target on the left edge and the source on the right, centred, where the stylesheet does", () => {
    const [target, source] = nodeHandles(210, 64);
    expect(target).toMatchObject({ type: "target", position: "left", x: -3, y: 29, width: 6, height: 6 });
    expect(source).toMatchObject({ type: "source", position: "right", x: 207, y: 29, width: 6, height: 6 });
  });
});
