// Every task name the server knows: registered by a worker, seen in events, or both.
import { api } from "../api/client";
import type { RegisteredTask, RegistryStatus } from "../api/types";
import { DebouncedInput } from "../components/DebouncedInput";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { formatAgo, formatTimestamp } from "../format/time";
import { links } from "../router/route";
import { emptyFilters, filtersToQuery } from "../tasks/filters";

const STATUSES: { value: RegistryStatus; label: string; hint: string }[] = [
  { value: "active", label: "Active", hint: "registered by a worker and run" },
  { value: "never_run", label: "Never run", hint: "registered by a worker, no run seen" },
  { value: "not_registered", label: "Not registered", hint: "runs seen, but no online worker registers it" },
];

const isStatus = (s: string | null): s is RegistryStatus => STATUSES.some((x) => x.value === s);

function RegistryRow({ task }: { task: RegisteredTask }) {
  const status = STATUSES.find((s) => s.value === task.status);
  return (
    <tr data-testid="registry-row" data-name={task.name} data-status={task.status}>
      <td className="cell-name">
        <div>{task.name}</div>
        {task.signature && <code className="signature">{task.signature}</code>}
        {task.docstring && <p className="docstring">{task.docstring}</p>}
      </td>
      <td>
        <span className={`badge registry-${task.status}`} title={status?.hint}>
          {status?.label ?? task.status}
        </span>
        {task.bound && <span className="tag">bound</span>}
      </td>
      <td className="col-optional cell-wrap">{task.module ?? "—"}</td>
      <td className="num">{task.execution_count.toLocaleString()}</td>
      <td className="nowrap" title={formatTimestamp(task.last_run)}>
        {task.last_run ? formatAgo(task.last_run) : "never"}
      </td>
      <td className="col-optional cell-wrap">{task.registered_by.join(", ") || "—"}</td>
      <td>
        <a className="button" data-testid="view-runs" href={links.tasks(filtersToQuery({ ...emptyFilters, name_exact: task.name }))}>
          View runs
        </a>
      </td>
    </tr>
  );
}

export function RegistryPage({ query, replaceQuery }: { query: URLSearchParams; replaceQuery: (q: URLSearchParams) => void }) {
  const text = query.get("query")?.trim() ?? "";
  const rawStatus = query.get("status");
  const status = isStatus(rawStatus) ? rawStatus : undefined;
  const { data, error, loading } = usePolled(
    `registry:${text}:${status ?? ""}`,
    (signal) => api.registry({ query: text, status }, signal),
    REFRESH_MS * 2,
  );
  const update = (patch: { query?: string; status?: RegistryStatus | undefined }) => {
    const next = { query: text, status, ...patch };
    const q = new URLSearchParams();
    if (next.query) q.set("query", next.query);
    if (next.status) q.set("status", next.status);
    replaceQuery(q);
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Registry</h1>
        {data && <span className="muted">{data.total.toLocaleString()} task names</span>}
      </div>
      <section className="filters" aria-label="Filters" data-testid="registry-filters">
        <div className="filter-states" role="group" aria-label="Status">
          {STATUSES.map((s) => (
            <button
              key={s.value}
              type="button"
              className={`chip registry-${s.value}`}
              aria-pressed={status === s.value}
              data-testid="registry-status"
              data-status={s.value}
              title={s.hint}
              onClick={() => update({ status: status === s.value ? undefined : s.value })}
            >
              {s.label}
            </button>
          ))}
        </div>
        <label className="field">
          <span>Name, module or docstring</span>
          <DebouncedInput type="search" data-testid="registry-query" placeholder="Search tasks…" value={text} onCommit={(value) => update({ query: value.trim() })} />
        </label>
      </section>
      {error && <ErrorNotice error={error} />}
      {!data && loading && !error && <Loading />}
      {data && data.tasks.length === 0 && <Empty>No task matches.</Empty>}
      {data && data.tasks.length > 0 && (
        <div className={`table-wrap${loading ? " is-stale" : ""}`}>
          <table className="table" data-testid="registry-table">
            <thead>
              <tr>
                <th>Task</th>
                <th>Status</th>
                <th className="col-optional">Module</th>
                <th className="num">Runs</th>
                <th>Last run</th>
                <th className="col-optional">Registered by</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.tasks.map((task) => (
                <RegistryRow key={task.name} task={task} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
