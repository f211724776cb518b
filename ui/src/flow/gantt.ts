// Pure timing logic for the Gantt view of a flow: one bar per task on a shared time axis, and the
// critical path — the chain of tasks that decided when the flow ended.
//
// What a task waited for: its parent task; for a chord callback, every member of the chord's header;
// for a member of a group, whatever the group itself waited for (the group's parent).
import { isContainer, type GraphNode, type TaskState } from "../api/types";

const RUNNING: (TaskState | null)[] = ["PENDING", "RECEIVED", "STARTED", "RETRY"];

export interface GanttBar {
  node: GraphNode;
  /** Milliseconds since the epoch. */
  start: number;
  end: number;
  /** Time spent queued before the (first) start, drawn lighter at the head of the bar. */
  queueMs: number;
  critical: boolean;
}

export interface Gantt {
  bars: GanttBar[];
  start: number;
  end: number;
  /** Critical path, first task to last. */
  critical: string[];
}

const time = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN);

/** When a task started (was first seen) and ended; a running task ends "now". */
export function span(node: GraphNode, now: number): [number, number] | undefined {
  const start = time(node.first_seen);
  if (!Number.isFinite(start)) return undefined;
  if (RUNNING.includes(node.state)) return [start, Math.max(start, now)];
  const last = time(node.last_updated);
  const end = node.duration_ms != null ? start + node.duration_ms : last;
  return [start, Number.isFinite(end) ? Math.max(start, end) : start];
}

/** The tasks this task had to wait for (see the header comment). */
export function predecessors(nodes: Record<string, GraphNode>, id: string, seen = new Set<string>()): string[] {
  if (seen.has(id)) return [];
  seen.add(id);
  const parentId = nodes[id]?.parent_id;
  const parent = parentId ? nodes[parentId] : undefined;
  if (!parent) return [];
  if (!isContainer(parent)) return [parent.task_id];
  if (parent.chord_id === id) {
    const members = parent.members ?? parent.children ?? [];
    return members.filter((m) => m !== id && nodes[m] !== undefined && !isContainer(nodes[m]));
  }
  return predecessors(nodes, parent.task_id, seen);
}

/** From the task that ended last, walk back through the predecessor that ended last. */
export function criticalPath(nodes: Record<string, GraphNode>, now: number = Date.now()): string[] {
  const ends = new Map<string, number>();
  for (const node of Object.values(nodes)) {
    const s = isContainer(node) ? undefined : span(node, now);
    if (s) ends.set(node.task_id, s[1]);
  }
  const latest = (ids: Iterable<string>) => {
    let best: string | undefined;
    for (const id of ids) {
      const end = ends.get(id);
      if (end !== undefined && (best === undefined || end > ends.get(best)! || (end === ends.get(best) && id < best))) best = id;
    }
    return best;
  };
  const path: string[] = [];
  const visited = new Set<string>();
  for (let at = latest(ends.keys()); at !== undefined && !visited.has(at); at = latest(predecessors(nodes, at))) {
    visited.add(at);
    path.push(at);
  }
  return path.reverse();
}

/** `withCriticalPath` false for tasks that are not one flow (the task list's timeline). */
export function gantt(nodes: Record<string, GraphNode>, now: number = Date.now(), withCriticalPath = true): Gantt {
  const critical = withCriticalPath ? criticalPath(nodes, now) : [];
  const onPath = new Set(critical);
  const bars: GanttBar[] = [];
  for (const node of Object.values(nodes)) {
    const s = isContainer(node) ? undefined : span(node, now);
    if (!s) continue;
    const queueMs = Math.min(Math.max(node.queue_wait_ms ?? 0, 0), s[1] - s[0]);
    bars.push({ node, start: s[0], end: s[1], queueMs, critical: onPath.has(node.task_id) });
  }
  bars.sort((a, b) => a.start - b.start || a.end - b.end || a.node.task_id.localeCompare(b.node.task_id));
  const start = bars.length ? Math.min(...bars.map((b) => b.start)) : now;
  const end = bars.length ? Math.max(...bars.map((b) => b.end)) : now;
  return { bars, start, end, critical };
}

export interface BarGeometry {
  /** Percentages of the axis: where the bar starts and how wide it is. */
  left: number;
  width: number;
  /** Percentage of the bar that is queue wait. */
  queue: number;
}

/** Where a bar sits on the chart's axis; a bar is at least 1/500 of the axis wide so an instant task shows. */
export function barGeometry(bar: GanttBar, chart: Pick<Gantt, "start" | "end">): BarGeometry {
  const axis = Math.max(chart.end - chart.start, 1);
  const length = bar.end - bar.start;
  return {
    left: ((bar.start - chart.start) / axis) * 100,
    width: (Math.max(length, axis / 500) / axis) * 100,
    queue: (bar.queueMs / Math.max(length, 1)) * 100,
  };
}

/** About `count` evenly spaced offsets (ms from the start) at round steps: 1, 2 or 5 × 10^k ms. */
export function ticks(spanMs: number, count = 6): number[] {
  if (!(spanMs > 0)) return [0];
  const raw = spanMs / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = 0; t <= spanMs + 1e-9; t += step) out.push(t);
  return out;
}
