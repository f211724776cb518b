import { useRef } from "react";
import { api } from "../api/client";
import type { TaskNode } from "../api/types";
import { Pager } from "../components/Pager";
import { StateBadge } from "../components/StateBadge";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { formatDuration, formatTime, formatTimestamp, shortId } from "../format/time";
import { links } from "../router/route";
import { filtersFromQuery, filtersToApiParams, filtersToQuery, hasFilters, PAGE_SIZE, type TaskFilters } from "../tasks/filters";
import { TaskFiltersBar } from "./TaskFiltersBar";

function TaskRow({ task }: { task: TaskNode }) {
  const open = () => {
    window.location.hash = links.task(task.task_id);
  };
  return (
    <tr data-testid="task-row" data-task-id={task.task_id} data-state={task.state ?? ""} className="clickable" onClick={open}>
      <td className="cell-name">
        <a href={links.task(task.task_id)} onClick={(e) => e.stopPropagation()}>
          {task.name ?? "(unknown task)"}
        </a>
        {task.exception_type && <span className="exc">{task.exception_type}</span>}
      </td>
      <td>
        <StateBadge state={task.state} interrupted={task.interrupted} />
      </td>
      <td className="mono col-optional" title={task.task_id}>
        {shortId(task.task_id)}
      </td>
      <td className="col-optional">{task.hostname ?? "—"}</td>
      <td className="col-optional">{task.queue ?? "—"}</td>
      <td className="nowrap col-optional" title={formatTimestamp(task.first_seen)}>
        {formatTime(task.first_seen)}
      </td>
      <td className="nowrap col-wide" title={formatTimestamp(task.last_updated)}>
        {formatTime(task.last_updated)}
      </td>
      <td className="nowrap num">{formatDuration(task.duration_ms)}</td>
    </tr>
  );
}

export function TasksPage({ query, replaceQuery }: { query: URLSearchParams; replaceQuery: (q: URLSearchParams) => void }) {
  const filters = filtersFromQuery(query);
  const latest = useRef(filters);
  latest.current = filters;
  const params = filtersToApiParams(filters);
  const key = JSON.stringify(params);
  const { data, error, loading } = usePolled(key, (signal) => api.tasks(params, signal), REFRESH_MS);

  const update = (patch: Partial<TaskFilters>) => replaceQuery(filtersToQuery({ ...latest.current, ...patch }));
  const hrefAt = (offset: number) => links.tasks(filtersToQuery({ ...filters, offset }));

  return (
    <div className="page">
      <div className="page-head">
        <h1>Tasks</h1>
        {data && <span className="muted">{data.total.toLocaleString()} total</span>}
      </div>
      <TaskFiltersBar filters={filters} onChange={update} />
      {error && <ErrorNotice error={error} />}
      {!data && loading && !error && <Loading />}
      {data && data.tasks.length === 0 && (
        <Empty>
          {hasFilters(filters)
            ? "No task matches these filters."
            : "No tasks yet. They appear here as soon as a worker running stemtrace.init(app) sends events."}
        </Empty>
      )}
      {data && data.tasks.length > 0 && (
        <>
          <div className={`table-wrap${loading ? " is-stale" : ""}`}>
            <table className="table" data-testid="task-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>State</th>
                  <th className="col-optional">Task id</th>
                  <th className="col-optional">Worker</th>
                  <th className="col-optional">Queue</th>
                  <th className="col-optional">Started</th>
                  <th className="col-wide">Updated</th>
                  <th className="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {data.tasks.map((task) => (
                  <TaskRow key={task.task_id} task={task} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager offset={filters.offset} limit={PAGE_SIZE} total={data.total} shown={data.tasks.length} hrefAt={hrefAt} />
        </>
      )}
    </div>
  );
}
