// Counts of the tasks of a flow by state, for the flow header; the span of a whole flow for lists.
import { isContainer, TASK_STATES, type FlowSummary, type GraphNode, type TaskState } from "../api/types";

export function stateCounts(nodes: Record<string, GraphNode>): [TaskState, number][] {
  const counts = new Map<TaskState, number>();
  for (const node of Object.values(nodes)) {
    if (!isContainer(node) && node.state) counts.set(node.state, (counts.get(node.state) ?? 0) + 1);
  }
  return TASK_STATES.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)!]);
}

/** First event to last event of the whole flow (the root's own duration when the server sends no span). */
export function flowDurationMs(flow: FlowSummary): number | null {
  const first = Date.parse(flow.flow_first_seen ?? "");
  const last = Date.parse(flow.flow_last_updated ?? "");
  return Number.isFinite(first) && Number.isFinite(last) ? Math.max(0, last - first) : flow.duration_ms;
}
