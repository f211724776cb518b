// The execution timeline of a task, one row per attempt: queued → received → started → retried/finished.
import type { TaskEvent, TaskState } from "../api/types";

export interface Step {
  state: TaskState | null;
  label: string;
  timestamp: string | null;
  /** Since the previous step of the same attempt (null for the first or without timestamps). */
  sinceMs: number | null;
}

export interface Attempt {
  number: number;
  steps: Step[];
  hostname: string | null;
}

const LABELS: Partial<Record<TaskState, string>> = {
  PENDING: "queued",
  RECEIVED: "received",
  STARTED: "started",
  RETRY: "retried",
};

/** Events (oldest first) split into attempts: by their `retries` count, else a new attempt after a RETRY. */
export function attempts(events: TaskEvent[]): Attempt[] {
  const out: Attempt[] = [];
  let number = 0;
  let previous: TaskEvent | undefined;
  for (const event of events) {
    if (typeof event.retries === "number") number = event.retries;
    else if (previous?.state === "RETRY") number += 1;
    let attempt = out.find((a) => a.number === number);
    if (!attempt) {
      attempt = { number, steps: [], hostname: null };
      out.push(attempt);
    }
    const before = attempt.steps.at(-1)?.timestamp;
    const since = before && event.timestamp ? Date.parse(event.timestamp) - Date.parse(before) : Number.NaN;
    attempt.steps.push({
      state: event.state,
      label: (event.state && LABELS[event.state]) ?? `finished: ${event.state?.toLowerCase() ?? "unknown"}`,
      timestamp: event.timestamp,
      sinceMs: Number.isFinite(since) ? since : null,
    });
    attempt.hostname = event.hostname ?? attempt.hostname;
    previous = event;
  }
  return out.sort((a, b) => a.number - b.number);
}
