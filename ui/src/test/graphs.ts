// Test helper: flow graphs as GET api/graphs/{root} returns them, for the flow view's logic tests.
import type { GraphNode } from "../api/types";

export function task(id: string, children: string[] = [], extra: Partial<GraphNode> = {}): GraphNode {
  return {
    task_id: id,
    name: `tasks.${id}`,
    state: "SUCCESS",
    node_type: "TASK",
    group_id: null,
    chord_id: null,
    parent_id: null,
    children,
    first_seen: null,
    last_updated: null,
    duration_ms: null,
    ...extra,
  };
}

export const container = (id: string, type: "GROUP" | "CHORD", members: string[], chordId: string | null = null) =>
  task(id, members, { node_type: type, name: type.toLowerCase(), chord_id: chordId });

export const graph = (...nodes: GraphNode[]) => Object.fromEntries(nodes.map((n) => [n.task_id, n]));

export const chain = (prefix: string, length: number, extra: Partial<GraphNode> = {}) =>
  Array.from({ length }, (_, i) => task(`${prefix}${i}`, i + 1 < length ? [`${prefix}${i + 1}`] : [], extra));

/** The flow of bench/ui/flow_paint.py: a root, a chord of 400 whose callback starts a 608-step chain, 33 × 29 fan-outs. */
export function benchFlow(): Record<string, GraphNode> {
  const header = Array.from({ length: 400 }, (_, i) => `h${i}`);
  const fans = Array.from({ length: 33 }, (_, i) => `f${i}`);
  return graph(
    task("root", ["chord:x", ...fans]),
    container("chord:x", "CHORD", header, "cb"),
    ...header.map((id) => task(id)),
    task("cb", ["c0"]),
    ...chain("c", 608),
    ...fans.map((fan) => task(fan, Array.from({ length: 29 }, (_, j) => `${fan}-${j}`))),
    ...fans.flatMap((fan) => Array.from({ length: 29 }, (_, j) => task(`${fan}-${j}`))),
  );
}
