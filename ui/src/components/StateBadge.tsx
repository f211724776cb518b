import type { TaskState } from "../api/types";

/** CSS class suffix of a state ("state-success", …); unknown states share the neutral look. */
export const stateClass = (state: TaskState | null | undefined) => `state-${(state ?? "unknown").toLowerCase()}`;

const INTERRUPTED = {
  worker_offline: "its worker shut down",
  worker_stale: "its worker stopped sending heartbeats",
  worker_restarted: "its worker restarted since",
} as const;

type Interrupted = keyof typeof INTERRUPTED | null | undefined;

/** The state, and a LOST badge when the server says the task can no longer be running. */
export function StateBadge({
  state,
  interrupted,
}: {
  state: TaskState | null | undefined;
  interrupted?: Interrupted;
}) {
  return (
    <>
      <span className={`badge ${stateClass(state)}`}>{state ?? "UNKNOWN"}</span>
      {interrupted && (
        <span
          className="badge state-failure"
          data-testid="interrupted"
          title={`Not running: ${INTERRUPTED[interrupted]}`}
        >
          LOST
        </span>
      )}
    </>
  );
}
