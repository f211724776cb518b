import { DebouncedInput } from "../components/DebouncedInput";
import { StateChips, WindowPresets } from "../components/FilterControls";
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

/** `onChange` gets only the changed filters (applied to the newest URL by the page); the list scrolls back to the top. */
export function TaskFiltersBar(props: { filters: TaskFilters; onChange: (patch: Partial<TaskFilters>) => void }) {
  const { filters, onChange } = props;
  return (
    <section className="filters" aria-label="Filters" data-testid="task-filters">
      <StateChips states={filters.states} onChange={(states) => onChange({ states })} />
      <WindowPresets within={filters.within} label="Updated within" testId="task-window" onChange={(within) => onChange({ within })} />
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
              onCommit={(value) => onChange({ [key]: value })}
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
