// What each worker is running: the STARTED tasks of GET api/tasks, grouped by the worker that reported them.
import type { TaskNode } from "../api/types";

/** How many running tasks the workers page asks for at most (the API's page limit). */
export const RUNNING_LIMIT = 500;

export function runningByWorker(tasks: TaskNode[]): Map<string, TaskNode[]> {
  const byWorker = new Map<string, TaskNode[]>();
  for (const task of tasks) {
    if (task.state !== "STARTED" || !task.hostname || task.interrupted) continue;
    const list = byWorker.get(task.hostname);
    if (list) list.push(task);
    else byWorker.set(task.hostname, [task]);
  }
  return byWorker;
}
