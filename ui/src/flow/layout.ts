// Pure graph logic for the flow view: GET api/graphs/{root} `nodes` → positioned nodes and edges.
//
// - A task's `children` are edges (parent → child).
// - A GROUP/CHORD container's `children` are its members: drawn inside its box, not linked by edges.
// - A CHORD's callback (`chord_id`) sits outside the box, with an edge from every header member.
// Layout is dagre, left to right, as a compound graph so container boxes enclose their members.
import dagre from "@dagrejs/dagre";
import { isContainer, type GraphNode } from "../api/types";

export const TASK_WIDTH = 210;
export const TASK_HEIGHT = 64;

export interface PlacedNode {
  id: string;
  kind: "task" | "container";
  node: GraphNode;
  /** The enclosing container, if any; x/y are then relative to its top-left corner. */
  parentId?: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  id: string;
  source: string;
  target: string;
  /** "callback": chord header member → chord callback. */
  kind: "child" | "callback";
}

export interface FlowLayout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

/** Changes only when the shape of the flow changes (not on state or timing updates): the key to re-layout on. */
export function structureKey(nodes: Record<string, GraphNode>): string {
  return Object.keys(nodes)
    .sort()
    .map((id) => {
      const node = nodes[id]!;
      return `${id}|${node.node_type ?? ""}|${node.chord_id ?? ""}|${(node.children ?? []).join(",")}`;
    })
    .join("\n");
}

/** Which container each node sits in (at most one; never a cycle). */
export function containerOf(nodes: Record<string, GraphNode>): Map<string, string> {
  const parent = new Map<string, string>();
  const isAncestor = (candidate: string, of: string) => {
    for (let at: string | undefined = of; at !== undefined; at = parent.get(at)) if (at === candidate) return true;
    return false;
  };
  const containers = Object.values(nodes).filter(isContainer);
  for (const container of containers) {
    for (const member of container.children ?? []) {
      if (!(member in nodes) || member === container.chord_id || parent.has(member)) continue;
      if (isAncestor(member, container.task_id)) continue;
      parent.set(member, container.task_id);
    }
  }
  // A chord callback that no container claims sits beside its chord, in the chord's own container.
  for (const chord of containers) {
    const callback = chord.chord_id;
    const outer = parent.get(chord.task_id);
    if (chord.node_type !== "CHORD" || !callback || !(callback in nodes) || parent.has(callback) || !outer) continue;
    if (!isAncestor(callback, outer)) parent.set(callback, outer);
  }
  return parent;
}

/** The edges to draw: parent → child for tasks, header member → callback for chords. */
export function flowEdges(nodes: Record<string, GraphNode>, parent: Map<string, string>): PlacedEdge[] {
  const edges = new Map<string, PlacedEdge>();
  const add = (source: string, target: string, kind: PlacedEdge["kind"]) => {
    const id = `${source}->${target}`;
    if (source !== target && target in nodes && !edges.has(id)) edges.set(id, { id, source, target, kind });
  };
  // A child already reached through an enclosing container listed by the same parent needs no second edge.
  const reachedViaContainer = (source: GraphNode, child: string) => {
    const listed = new Set(source.children ?? []);
    for (let at = parent.get(child); at !== undefined; at = parent.get(at)) if (listed.has(at)) return true;
    return false;
  };
  for (const node of Object.values(nodes)) {
    if (isContainer(node)) continue;
    for (const child of node.children ?? []) {
      if (!reachedViaContainer(node, child)) add(node.task_id, child, "child");
    }
  }
  for (const chord of Object.values(nodes)) {
    if (chord.node_type !== "CHORD" || !chord.chord_id) continue;
    for (const member of chord.children ?? []) {
      if (parent.get(member) === chord.task_id) add(member, chord.chord_id, "callback");
    }
  }
  return [...edges.values()];
}

export function layoutFlow(nodes: Record<string, GraphNode>): FlowLayout {
  const parent = containerOf(nodes);
  const edges = flowEdges(nodes, parent);
  const members = new Map<string, string[]>();
  for (const [member, container] of parent) members.set(container, [...(members.get(container) ?? []), member]);
  const isBox = (id: string) => isContainer(nodes[id]) && members.has(id);

  const graph = new dagre.graphlib.Graph({ compound: true });
  graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 60, marginx: 24, marginy: 24 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of Object.keys(nodes)) {
    graph.setNode(id, isBox(id) ? {} : { width: TASK_WIDTH, height: TASK_HEIGHT });
  }
  for (const [member, container] of parent) graph.setParent(member, container);

  // dagre cannot route edges to a cluster: an edge to or from a box is laid out via the tasks inside it.
  const leaves = (id: string): string[] => (isBox(id) ? members.get(id)!.flatMap(leaves) : [id]);
  for (const edge of edges) {
    for (const source of leaves(edge.source)) for (const target of leaves(edge.target)) graph.setEdge(source, target);
  }
  dagre.layout(graph);

  const topLeft = (id: string) => {
    const box = graph.node(id) as { x: number; y: number; width: number; height: number };
    return { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height };
  };
  const depth = (id: string): number => {
    const up = parent.get(id);
    return up === undefined ? 0 : 1 + depth(up);
  };
  // xyflow needs every parent before its children.
  const ordered = Object.keys(nodes).sort((a, b) => depth(a) - depth(b));
  const placed = ordered.map((id): PlacedNode => {
    const box = topLeft(id);
    const container = parent.get(id);
    const origin = container === undefined ? { x: 0, y: 0 } : topLeft(container);
    return {
      id,
      kind: isContainer(nodes[id]) ? "container" : "task",
      node: nodes[id]!,
      ...(container === undefined ? {} : { parentId: container }),
      x: box.x - origin.x,
      y: box.y - origin.y,
      width: box.width,
      height: box.height,
    };
  });
  return { nodes: placed, edges };
}
