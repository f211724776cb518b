// What the detail view shows from a task's event history.
import type { TaskEvent, TaskNode } from "../api/types";

/** Events oldest first (events without a timestamp keep their order at the end). */
export function sortedEvents(task: TaskNode): TaskEvent[] {
  const time = (e: TaskEvent) => (e.timestamp ? Date.parse(e.timestamp) : Number.POSITIVE_INFINITY);
  return [...(task.events ?? [])].sort((a, b) => time(a) - time(b));
}

/** The newest non-null value of an event field. */
export function latest<K extends keyof TaskEvent>(events: TaskEvent[], field: K): TaskEvent[K] | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const value = events[i]![field];
    if (value !== null && value !== undefined) return value;
  }
  return undefined;
}

/** The flow this task belongs to: the root id its events report, else the task itself. */
export function flowRootOf(task: TaskNode): string {
  return (latest(sortedEvents(task), "root_id") as string | undefined) ?? task.task_id;
}
