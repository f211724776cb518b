import { useRef } from "react";
import { filtersFromQuery, filtersToApiParams, filtersToQuery, hasFilters, type TaskFilters } from "../tasks/filters";
import { TaskFiltersBar } from "./TaskFiltersBar";
import { TaskList } from "./TaskList";
import { TaskTimeline } from "./TaskTimeline";

type View = "list" | "timeline";

export function TasksPage({ query, replaceQuery }: { query: URLSearchParams; replaceQuery: (q: URLSearchParams) => void }) {
  const filters = filtersFromQuery(query);
  const view: View = query.get("view") === "timeline" ? "timeline" : "list";
  const latest = useRef({ filters, view });
  latest.current = { filters, view };
  const params = filtersToApiParams(filters);
  const key = JSON.stringify(params);

  // The view is in the URL beside the filters; the list is the default and leaves no parameter.
  const navigate = (next: TaskFilters, nextView: View) => {
    const q = filtersToQuery(next);
    if (nextView === "timeline") q.set("view", nextView);
    replaceQuery(q);
  };
  const update = (patch: Partial<TaskFilters>) => navigate({ ...latest.current.filters, ...patch }, latest.current.view);
  const empty = hasFilters(filters)
    ? "No task matches these filters."
    : "No tasks yet. They appear here as soon as a worker running stemtrace.init(app) sends events.";

  return (
    <div className="page">
      <div className="page-head">
        <h1>Tasks</h1>
        <div className="view-toggle" role="group" aria-label="View" data-testid="task-view">
          {(["list", "timeline"] as const).map((v) => (
            <button key={v} type="button" aria-pressed={view === v} data-view={v} onClick={() => navigate(latest.current.filters, v)}>
              {v === "list" ? "List" : "Timeline"}
            </button>
          ))}
        </div>
      </div>
      <TaskFiltersBar filters={filters} onChange={update} />
      {/* new filters: a new list, scrolled to its top */}
      {view === "list" ? <TaskList key={key} params={params} empty={empty} /> : <TaskTimeline params={params} empty={empty} />}
    </div>
  );
}
