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

/**
 * Sets of tasks drawn as one grid, in reading order, that dagre sees as one node: dagre slows down badly
 * past ~100 nodes, and a long chain or a wide fan-out drawn one node per rank is too long to see whole.
 */
const PACK_MIN = 12;
/** A chain is wrapped into rows from this many steps on (shorter ones read better on one line). */
const RUN_MIN = 16;
const GAP_X = 16;
const GAP_Y = 12;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Columns of a roughly square grid of `count` task cards. */
export function gridColumns(count: number): number {
  const ratio = (TASK_HEIGHT + GAP_Y) / (TASK_WIDTH + GAP_X);
  return Math.max(1, Math.min(count, Math.round(Math.sqrt(count * ratio))));
}

/**
 * The packs of a flow, in three kinds (a task joins at most one):
 * - a container's plain members (no edge of their own but a chord callback);
 * - a task's leaf children (no children, reached only from it, beside it in the same container);
 * - a chain: each step the only child of the one before and reached only from it.
 */
export function findPacks(
  nodes: Record<string, GraphNode>,
  parent: Map<string, string>,
  members: Map<string, string[]>,
  edges: PlacedEdge[],
): string[][] {
  const into = new Map<string, string[]>();
  const out = new Map<string, string[]>();
  const linked = new Set<string>();
  const append = (map: Map<string, string[]>, key: string, value: string) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const edge of edges) {
    append(into, edge.target, edge.source);
    append(out, edge.source, edge.target);
    if (edge.kind === "child") linked.add(edge.source);
    linked.add(edge.target);
  }
  const packs: string[][] = [];
  const claimed = new Set<string>();
  const claim = (list: string[]) => {
    packs.push(list);
    for (const id of list) claimed.add(id);
  };
  const free = (id: string) => !claimed.has(id) && !isContainer(nodes[id]);
  const onlyFrom = (id: string, source: string) => into.get(id)?.length === 1 && parent.get(id) === parent.get(source);

  for (const list of members.values()) {
    const plain = list.filter((id) => free(id) && !linked.has(id));
    if (plain.length >= PACK_MIN) claim(plain);
  }
  for (const id of Object.keys(nodes)) {
    if (isContainer(nodes[id])) continue;
    const leaves = (out.get(id) ?? []).filter((child) => free(child) && !out.has(child) && onlyFrom(child, id));
    if (leaves.length >= PACK_MIN) claim(leaves);
  }
  const next = (id: string): string | undefined => {
    const targets = out.get(id);
    const only = targets?.length === 1 ? targets[0]! : undefined;
    return only !== undefined && free(only) && onlyFrom(only, id) ? only : undefined;
  };
  const continued = new Set<string>();
  for (const id of Object.keys(nodes)) {
    const following = free(id) ? next(id) : undefined;
    if (following !== undefined) continued.add(following);
  }
  for (const id of Object.keys(nodes)) {
    if (!free(id) || continued.has(id)) continue;
    const run = [id];
    // Never loops: each later step has one way in, from the step before, and the first is no one's next.
    for (let at = next(id); at !== undefined; at = next(at)) run.push(at);
    if (run.length >= RUN_MIN) claim(run);
  }
  return packs;
}

export function layoutFlow(nodes: Record<string, GraphNode>): FlowLayout {
  const parent = containerOf(nodes);
  const edges = flowEdges(nodes, parent);
  const members = new Map<string, string[]>();
  for (const [member, container] of parent) {
    const list = members.get(container);
    if (list) list.push(member);
    else members.set(container, [member]);
  }
  const isBox = (id: string) => isContainer(nodes[id]) && members.has(id);

  const packs = new Map<string, string[]>();
  const packOf = new Map<string, string>();
  for (const list of findPacks(nodes, parent, members, edges)) {
    const packId = `\u0000pack:${list[0]}`;
    packs.set(packId, list);
    for (const id of list) packOf.set(id, packId);
  }
  const layoutId = (id: string) => packOf.get(id) ?? id;

  const graph = new dagre.graphlib.Graph({ compound: true });
  graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 60, marginx: 24, marginy: 24 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of Object.keys(nodes)) {
    if (packOf.has(id)) continue;
    graph.setNode(id, isBox(id) ? {} : { width: TASK_WIDTH, height: TASK_HEIGHT });
    const container = parent.get(id);
    if (container !== undefined) graph.setParent(id, container);
  }
  for (const [packId, list] of packs) {
    const columns = gridColumns(list.length);
    const rows = Math.ceil(list.length / columns);
    graph.setNode(packId, {
      width: columns * (TASK_WIDTH + GAP_X) - GAP_X,
      height: rows * (TASK_HEIGHT + GAP_Y) - GAP_Y,
    });
    const container = parent.get(list[0]!);
    if (container !== undefined) graph.setParent(packId, container);
  }

  // dagre cannot route edges to a cluster: an edge to or from a box is laid out via the tasks inside it.
  const leaves = (id: string): string[] =>
    isBox(id) ? [...new Set(members.get(id)!.flatMap(leaves))] : [layoutId(id)];
  for (const edge of edges) {
    for (const source of leaves(edge.source)) {
      for (const target of leaves(edge.target)) if (source !== target) graph.setEdge(source, target);
    }
  }
  dagre.layout(graph);

  // Absolute top-left boxes of every node.
  const absolute = new Map<string, Box>();
  const centred = (id: string): Box => {
    const box = graph.node(id) as Box;
    return { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height };
  };
  for (const id of Object.keys(nodes)) if (!packOf.has(id)) absolute.set(id, centred(id));
  for (const [packId, list] of packs) {
    const origin = centred(packId);
    const columns = gridColumns(list.length);
    list.forEach((id, index) => {
      absolute.set(id, {
        x: origin.x + (index % columns) * (TASK_WIDTH + GAP_X),
        y: origin.y + Math.floor(index / columns) * (TASK_HEIGHT + GAP_Y),
        width: TASK_WIDTH,
        height: TASK_HEIGHT,
      });
    });
  }

  const depth = (id: string): number => {
    const up = parent.get(id);
    return up === undefined ? 0 : 1 + depth(up);
  };
  // xyflow needs every parent before its children.
  const ordered = Object.keys(nodes).sort((a, b) => depth(a) - depth(b));
  const placed = ordered.map((id): PlacedNode => {
    const box = absolute.get(id)!;
    const container = parent.get(id);
    const origin = container === undefined ? { x: 0, y: 0 } : absolute.get(container)!;
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

/** The box around every top-level node (absolute positions), to fit the view to. */
export function layoutBounds(layout: FlowLayout): Box {
  const top = layout.nodes.filter((node) => node.parentId === undefined);
  if (top.length === 0) return { x: 0, y: 0, width: 0, height: 0 };
  const x = Math.min(...top.map((node) => node.x));
  const y = Math.min(...top.map((node) => node.y));
  const right = Math.max(...top.map((node) => node.x + node.width));
  const bottom = Math.max(...top.map((node) => node.y + node.height));
  return { x, y, width: right - x, height: bottom - y };
}
