// Filter controls shared by the task and flow lists: state chips (several at once) and time window presets.
import { TASK_STATES, type TaskState } from "../api/types";
import { WINDOWS, type WindowChoice } from "../overview/stats";
import { stateClass } from "./StateBadge";

export function StateChips({ states, onChange }: { states: TaskState[]; onChange: (states: TaskState[]) => void }) {
  const toggle = (state: TaskState) => onChange(states.includes(state) ? states.filter((s) => s !== state) : [...states, state]);
  return (
    <div className="filter-states" role="group" aria-label="State">
      {TASK_STATES.map((state) => (
        <button
          key={state}
          type="button"
          className={`chip ${stateClass(state)}`}
          aria-pressed={states.includes(state)}
          data-testid="state-filter"
          data-state={state}
          onClick={() => toggle(state)}
        >
          {state}
        </button>
      ))}
    </div>
  );
}

export function WindowPresets(props: { within: WindowChoice | ""; label: string; testId: string; onChange: (within: WindowChoice | "") => void }) {
  return (
    <div className="view-toggle" role="group" aria-label={props.label} data-testid={props.testId}>
      {(["", ...WINDOWS] as const).map((within) => (
        <button key={within} type="button" aria-pressed={props.within === within} data-within={within || "any"} onClick={() => props.onChange(within)}>
          {within ? `Last ${within}` : "Any time"}
        </button>
      ))}
    </div>
  );
}
