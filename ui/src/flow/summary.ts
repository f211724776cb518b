// Counts of the tasks of a flow by state, for the flow header.
import { isContainer, TASK_STATES, type GraphNode, type TaskState } from "../api/types";

export function stateCounts(nodes: Record<string, GraphNode>): [TaskState, number][] {
  const counts = new Map<TaskState, number>();
  for (const node of Object.values(nodes)) {
    if (!isContainer(node) && node.state) counts.set(node.state, (counts.get(node.state) ?? 0) + 1);
  }
  return TASK_STATES.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)!]);
}
