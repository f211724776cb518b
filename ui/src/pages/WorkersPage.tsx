import { api } from "../api/client";
import type { TaskNode } from "../api/types";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { usePolled } from "../data/usePolled";
import { formatAgo, formatTimestamp } from "../format/time";
import { links } from "../router/route";
import { emptyFilters, filtersToQuery } from "../tasks/filters";
import { RUNNING_LIMIT, runningByWorker } from "../workers/running";

const WORKERS_REFRESH_MS = 5000;

export function WorkersPage() {
  const { data, error, loading } = usePolled("workers", api.workers, WORKERS_REFRESH_MS);
  const started = usePolled(
    "workers:running",
    (signal) => api.tasks({ state: "STARTED", limit: RUNNING_LIMIT, compact: 1 }, signal),
    WORKERS_REFRESH_MS,
  );
  const running = runningByWorker(started.data?.tasks ?? []);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Workers</h1>
        {data && (
          <span className="muted">
            {data.workers.filter((w) => w.status === "online").length} online of {data.total}
          </span>
        )}
      </div>
      {error && <ErrorNotice error={error} />}
      {!data && loading && !error && <Loading />}
      {data && data.workers.length === 0 && <Empty>No worker has reported yet.</Empty>}
      {data && data.workers.length > 0 && (
        <div className="table-wrap">
          <table className="table" data-testid="worker-table">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Status</th>
                <th>Running</th>
                <th className="num col-optional">PID</th>
                <th className="col-optional">Registered tasks</th>
                <th className="col-optional">Started</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {data.workers.map((worker) => (
                <tr key={worker.hostname} data-testid="worker-row" data-hostname={worker.hostname} data-status={worker.status ?? ""}>
                  <td className="cell-name">
                    <a href={links.tasks(filtersToQuery({ ...emptyFilters, hostname: worker.hostname }))} title="Tasks on this worker">
                      {worker.hostname}
                    </a>
                  </td>
                  <td>
                    <span className={`badge worker-${worker.status ?? "unknown"}`}>{worker.status ?? "unknown"}</span>
                  </td>
                  <td data-testid="worker-running">
                    <Running tasks={running.get(worker.hostname) ?? []} online={worker.status === "online"} />
                  </td>
                  <td className="num mono col-optional">{worker.pid ?? "—"}</td>
                  <td className="col-optional">
                    <details>
                      <summary>{worker.registered_tasks?.length ?? 0} tasks</summary>
                      <ul className="plain-list mono">
                        {(worker.registered_tasks ?? []).map((name) => (
                          <li key={name}>{name}</li>
                        ))}
                      </ul>
                    </details>
                  </td>
                  <td className="nowrap col-optional">{formatTimestamp(worker.registered_at)}</td>
                  <td className="nowrap" title={formatTimestamp(worker.last_seen)}>
                    {formatAgo(worker.last_seen)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function Running({ tasks, online }: { tasks: TaskNode[]; online: boolean }) {
  if (tasks.length === 0) return <span className="muted">{online ? "idle" : "—"}</span>;
  return (
    <details>
      <summary>{tasks.length} running</summary>
      <ul className="plain-list">
        {tasks.map((task) => (
          <li key={task.task_id}>
            <a href={links.task(task.task_id)} data-testid="running-task" data-task-id={task.task_id}>
              {task.name ?? "(unknown task)"}
            </a>
          </li>
        ))}
      </ul>
    </details>
  );
}
