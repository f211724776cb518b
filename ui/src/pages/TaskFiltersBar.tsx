import { TASK_STATES } from "../api/types";
import { DebouncedInput } from "../components/DebouncedInput";
import { stateClass } from "../components/StateBadge";
import { WINDOWS } from "../overview/stats";
import { emptyFilters, hasFilters, type TaskFilters, type TextFilter } from "../tasks/filters";

const TEXT_FIELDS: { key: TextFilter; label: string; placeholder: string }[] = [
  { key: "name", label: "Task name", placeholder: "Name contains…" },
  { key: "name_exact", label: "Exact task name", placeholder: "Exact name" },
  { key: "search", label: "Args, kwargs, result", placeholder: "Search args / result…" },
  { key: "hostname", label: "Worker", placeholder: "celery@host" },
  { key: "queue", label: "Queue", placeholder: "Queue" },
  { key: "exception_type", label: "Exception type", placeholder: "ValueError" },
  { key: "trace_id", label: "Trace id", placeholder: "Trace id" },
];

/** `onChange` gets only the changed filters (applied to the newest URL by the page); each change resets paging. */
export function TaskFiltersBar(props: { filters: TaskFilters; onChange: (patch: Partial<TaskFilters>) => void }) {
  const { filters, onChange } = props;
  const toggleState = (state: (typeof TASK_STATES)[number]) => {
    const states = filters.states.includes(state) ? filters.states.filter((s) => s !== state) : [...filters.states, state];
    onChange({ states, offset: 0 });
  };
  return (
    <section className="filters" aria-label="Filters" data-testid="task-filters">
      <div className="filter-states" role="group" aria-label="State">
        {TASK_STATES.map((state) => (
          <button
            key={state}
            type="button"
            className={`chip ${stateClass(state)}`}
            aria-pressed={filters.states.includes(state)}
            data-testid="state-filter"
            data-state={state}
            onClick={() => toggleState(state)}
          >
            {state}
          </button>
        ))}
      </div>
      <div className="view-toggle" role="group" aria-label="Updated within" data-testid="task-window">
        {(["", ...WINDOWS] as const).map((within) => (
          <button
            key={within}
            type="button"
            aria-pressed={filters.within === within}
            data-within={within || "any"}
            onClick={() => onChange({ within, offset: 0 })}
          >
            {within ? `Last ${within}` : "Any time"}
          </button>
        ))}
      </div>
      <div className="filter-fields">
        {TEXT_FIELDS.map(({ key, label, placeholder }) => (
          <label key={key} className="field">
            <span>{label}</span>
            <DebouncedInput
              type="search"
              name={key}
              data-testid={`filter-${key}`}
              placeholder={placeholder}
              value={filters[key]}
              onCommit={(value) => onChange({ [key]: value, offset: 0 })}
            />
          </label>
        ))}
        {hasFilters(filters) && (
          <button type="button" className="button button-quiet" onClick={() => onChange(emptyFilters)}>
            Clear filters
          </button>
        )}
      </div>
    </section>
  );
}
