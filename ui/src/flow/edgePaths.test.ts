import { getBezierPath, Position } from "@xyflow/react";
import { describe, expect, it } from "vitest";
import { container, graph, task } from "../test/graphs";
import { edgeCurves, edgePaths } from "./edgePaths";
import { layoutFlow, type FlowLayout } from "./layout";

/** A node's absolute box. */
function box(layout: FlowLayout, id: string): { x: number; y: number; width: number; height: number } {
  const node = layout.nodes.find((n) => n.id === id)!;
  const origin = node.parentId ? box(layout, node.parentId) : { x: 0, y: 0 };
  return { x: node.x + origin.x, y: node.y + origin.y, width: node.width, height: node.height };
}

describe("edgeCurves", () => {
  const flow = graph(
    task("p", ["chord:c"]),
    container("chord:c", "CHORD", ["a", "b"], "cb"),
    task("a"),
    task("b", [], { state: "STARTED" }),
    task("cb", [], { state: "STARTED" }),
  );
  const layout = layoutFlow(flow);

  it("draws each edge as xyflow does, from the source's right handle to the target's left one", () => {
    const curves = edgeCurves(layout);
    expect(curves.map((c) => `${c.kind}:${c.target}`).sort()).toEqual(["callback:cb", "callback:cb", "child:chord:c"]);
    // A member's position is relative to its box: the curve starts at its absolute right edge.
    const a = box(layout, "a");
    const cb = box(layout, "cb");
    const [expected] = getBezierPath({
      sourceX: a.x + a.width + 3,
      sourceY: a.y + a.height / 2,
      sourcePosition: Position.Right,
      targetX: cb.x - 3,
      targetY: cb.y + cb.height / 2,
      targetPosition: Position.Left,
    });
    expect(curves.map((c) => c.d)).toContain(expected);
  });

  it("groups the curves into one path per style, edges into running tasks apart", () => {
    const curves = edgeCurves(layout);
    const paths = edgePaths(curves, flow);
    const count = (d: string) => (d.match(/M/g) ?? []).length;
    expect([count(paths.child), count(paths.callback), count(paths.running)]).toEqual([1, 0, 2]);
    const done = graph(...Object.values(flow).map((n) => ({ ...n, state: "SUCCESS" as const })));
    expect([count(edgePaths(curves, done).callback), count(edgePaths(curves, done).running)]).toEqual([2, 0]);
  });
});
