import type { TaskState } from "../api/types";

/** CSS class suffix of a state ("state-success", …); unknown states share the neutral look. */
export const stateClass = (state: TaskState | null | undefined) => `state-${(state ?? "unknown").toLowerCase()}`;

export function StateBadge({ state }: { state: TaskState | null | undefined }) {
  return <span className={`badge ${stateClass(state)}`}>{state ?? "UNKNOWN"}</span>;
}
