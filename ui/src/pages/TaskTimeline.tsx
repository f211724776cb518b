// The tasks page's timeline view: the newest matching tasks as bars on one time axis (queued, then
// running until finished), drawn by the flow's Gantt chart without a critical path.
import type { ReactNode } from "react";
import type { QueryValue } from "../api/base";
import { api } from "../api/client";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { GanttChart } from "../flow/GanttChart";
import { links } from "../router/route";

/** As many tasks as one request returns (the API's largest limit). */
const TIMELINE_TASKS = 500;

export function TaskTimeline({ params, empty }: { params: Record<string, QueryValue>; empty: ReactNode }) {
  const key = JSON.stringify(params);
  const { data, error, loading } = usePolled(key, (signal) => api.tasks({ ...params, limit: TIMELINE_TASKS, offset: 0 }, signal), REFRESH_MS);
  const nodes = Object.fromEntries((data?.tasks ?? []).map((task) => [task.task_id, task]));
  return (
    <>
      {error && <ErrorNotice error={error} />}
      {!data && loading && !error && <Loading />}
      {data && data.total === 0 && <Empty>{empty}</Empty>}
      {data && data.total > 0 && (
        <>
          <div className="list-status">
            <span className="muted" data-testid="task-total">
              {data.total > data.tasks.length
                ? `The newest ${data.tasks.length.toLocaleString()} of ${data.total.toLocaleString()} tasks`
                : `${data.total.toLocaleString()} ${data.total === 1 ? "task" : "tasks"}`}
            </span>
          </div>
          <div className={`task-timeline${loading ? " is-stale" : ""}`} data-testid="task-timeline">
            <GanttChart
              nodes={nodes}
              selectedId={undefined}
              withCriticalPath={false}
              onSelect={(id) => {
                window.location.hash = links.task(id);
              }}
            />
          </div>
        </>
      )}
    </>
  );
}
