// The edges of a large flow as one SVG path per style instead of one xyflow edge component each: those
// components were about a third of the main-thread time of drawing a 2,000-task flow whole (bench/ui).
import { getBezierPath, Position } from "@xyflow/react";
import type { GraphNode } from "../api/types";
import { nodeHandles } from "./elements";
import type { FlowLayout, PlacedEdge } from "./layout";

/** "running": an edge into a STARTED task, drawn animated (as xyflow's `animated` edges are). */
export type EdgeStyle = PlacedEdge["kind"] | "running";

export interface EdgeCurve {
  kind: PlacedEdge["kind"];
  target: string;
  /** SVG path data in flow coordinates: the curve xyflow draws between the two nodes' handles. */
  d: string;
}

/** Every edge's curve; recomputed only with the layout. */
export function edgeCurves(layout: FlowLayout): EdgeCurve[] {
  const handles = new Map<string, { source: { x: number; y: number }; target: { x: number; y: number } }>();
  const origin = new Map<string, { x: number; y: number }>();
  // Parents come before their members in the layout: a member's position is relative to its container.
  for (const node of layout.nodes) {
    const parent = node.parentId === undefined ? undefined : origin.get(node.parentId);
    const x = node.x + (parent?.x ?? 0);
    const y = node.y + (parent?.y ?? 0);
    origin.set(node.id, { x, y });
    const [target, source] = nodeHandles(node.width, node.height);
    handles.set(node.id, {
      source: { x: x + source!.x + source!.width!, y: y + source!.y + source!.height! / 2 },
      target: { x: x + target!.x, y: y + target!.y + target!.height! / 2 },
    });
  }
  return layout.edges.map((edge) => {
    const from = handles.get(edge.source)!.source;
    const to = handles.get(edge.target)!.target;
    const [d] = getBezierPath({
      sourceX: from.x,
      sourceY: from.y,
      sourcePosition: Position.Right,
      targetX: to.x,
      targetY: to.y,
      targetPosition: Position.Left,
    });
    return { kind: edge.kind, target: edge.target, d };
  });
}

/** The curves joined into one path per style, for the tasks' current states. */
export function edgePaths(curves: EdgeCurve[], nodes: Record<string, GraphNode>): Record<EdgeStyle, string> {
  const parts: Record<EdgeStyle, string[]> = { child: [], callback: [], running: [] };
  for (const curve of curves) parts[nodes[curve.target]?.state === "STARTED" ? "running" : curve.kind].push(curve.d);
  return { child: parts.child.join(""), callback: parts.callback.join(""), running: parts.running.join("") };
}
