// The xyflow nodes (with their sizes and handles declared) and edges of a laid-out flow. A refresh parses a
// fresh object for every task, and xyflow re-renders every node and edge whose object is new (and the
// minimap redraws its mark): so each refresh hands back last time's object for whatever did not change,
// and a state update of a 2,000-task flow redraws the few tasks it changed instead of all of them.
import { Position, type Edge, type NodeHandle } from "@xyflow/react";
import type { GraphNode } from "../api/types";
import type { ContainerFlowNode, TaskFlowNode } from "./FlowNodes";
import type { FlowLayout, PlacedEdge, PlacedNode } from "./layout";

export type FlowNode = TaskFlowNode | ContainerFlowNode;

/**
 * From this many nodes on, xyflow renders only the nodes in view and the edges are drawn by EdgeLayer,
 * as a few paths: per-node and per-edge components are what a large flow costs to draw.
 */
export const LARGE_FLOW = 300;

/** Whether two API nodes carry the same data (their fields are scalars and the `children` list). */
export function sameGraphNode(a: GraphNode, b: GraphNode): boolean {
  const keys = Object.keys(a) as (keyof GraphNode)[];
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const [x, y] = [a[key], b[key]];
    return x === y || (Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => v === y[i]));
  });
}

/**
 * The handles every node has, where xyflow's stylesheet puts them (6 px, centred on the left and right
 * edges). Declared, they let xyflow draw edges and skip off-screen nodes before it has measured anything:
 * a node it has not measured is otherwise always rendered, and its edges wait for a second pass.
 */
export function nodeHandles(width: number, height: number): NodeHandle[] {
  const size = 6;
  const y = height / 2 - size / 2;
  return [
    { type: "target", position: Position.Left, x: -size / 2, y, width: size, height: size },
    { type: "source", position: Position.Right, x: width - size / 2, y, width: size, height: size },
  ];
}

interface NodeInput {
  placed: PlacedNode;
  node: GraphNode;
  selected: boolean;
  members: number;
}

interface EdgeInput {
  edge: PlacedEdge;
  animated: boolean;
}

function toFlowNode({ placed, node, selected, members }: NodeInput): FlowNode {
  const common = {
    id: placed.id,
    position: { x: placed.x, y: placed.y },
    width: placed.width,
    height: placed.height,
    // Known sizes and handles: xyflow draws a node and its edges without measuring it first, skips the
    // ones off screen, and fits the view to nodes it never rendered (it fits measured ones only).
    measured: { width: placed.width, height: placed.height },
    handles: nodeHandles(placed.width, placed.height),
    selected,
    ...(placed.parentId ? { parentId: placed.parentId } : {}),
  };
  return placed.kind === "container"
    ? { ...common, type: "container", data: { node, members } }
    : { ...common, type: "task", data: { node } };
}

function toFlowEdge({ edge, animated }: EdgeInput): Edge {
  return {
    id: edge.id,
    source: edge.source,
    target: edge.target,
    animated,
    className: `flow-edge flow-edge-${edge.kind}`,
    // Edges take no clicks: without this xyflow adds a second, invisible 20 px path to each for hit-testing.
    interactionWidth: 0,
  };
}

/** Builds one object per key, handing back the previous call's object for a key whose input is `same`. */
function reusing<I, O>(same: (a: I, b: I) => boolean, build: (input: I) => O): (inputs: [string, I][]) => O[] {
  let last = new Map<string, { input: I; output: O }>();
  return (inputs) => {
    const next = new Map<string, { input: I; output: O }>();
    const outputs = inputs.map(([key, input]) => {
      const previous = last.get(key);
      const output = previous && same(previous.input, input) ? previous.output : build(input);
      next.set(key, { input, output });
      return output;
    });
    last = next;
    return outputs;
  };
}

/** A builder of the canvas's nodes that keeps their objects across calls while unchanged. */
export function flowNodeBuilder(): (
  layout: FlowLayout,
  nodes: Record<string, GraphNode>,
  selectedId: string | undefined,
) => FlowNode[] {
  const build = reusing<NodeInput, FlowNode>(
    (a, b) => a.placed === b.placed && a.selected === b.selected && a.members === b.members && sameGraphNode(a.node, b.node),
    toFlowNode,
  );
  return (layout, nodes, selectedId) => {
    const members = new Map<string, number>();
    for (const placed of layout.nodes) {
      if (placed.parentId) members.set(placed.parentId, (members.get(placed.parentId) ?? 0) + 1);
    }
    return build(
      layout.nodes.map((placed) => [
        placed.id,
        { placed, node: nodes[placed.id] ?? placed.node, selected: placed.id === selectedId, members: members.get(placed.id) ?? 0 },
      ]),
    );
  };
}

/** A builder of the canvas's edges (of a flow drawn with xyflow's own edges) that keeps their objects while unchanged. */
export function flowEdgeBuilder(): (layout: FlowLayout, nodes: Record<string, GraphNode>) => Edge[] {
  const build = reusing<EdgeInput, Edge>((a, b) => a.edge === b.edge && a.animated === b.animated, toFlowEdge);
  return (layout, nodes) => build(layout.edges.map((edge) => [edge.id, { edge, animated: nodes[edge.target]?.state === "STARTED" }]));
}
