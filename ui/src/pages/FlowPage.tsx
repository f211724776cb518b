import "@xyflow/react/dist/style.css";
import { useState } from "react";
import { api } from "../api/client";
import { StateBadge } from "../components/StateBadge";
import { ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { FlowCanvas } from "../flow/FlowCanvas";
import { GanttChart } from "../flow/GanttChart";
import { NodePanel } from "../flow/NodePanel";
import { stateCounts } from "../flow/summary";
import { formatDuration, formatTime, shortId } from "../format/time";
import { links } from "../router/route";
import type { Theme } from "../theme/useTheme";

type View = "graph" | "gantt";

function ViewToggle({ view, onChange }: { view: View; onChange: (view: View) => void }) {
  return (
    <div className="view-toggle" role="group" aria-label="View" data-testid="view-toggle">
      {(["graph", "gantt"] as const).map((v) => (
        <button key={v} type="button" aria-pressed={view === v} data-view={v} onClick={() => onChange(v)}>
          {v === "graph" ? "Graph" : "Gantt"}
        </button>
      ))}
    </div>
  );
}

export function FlowPage(props: {
  rootId: string;
  theme: Theme;
  query: URLSearchParams;
  replaceQuery: (query: URLSearchParams) => void;
}) {
  const { rootId, theme, query, replaceQuery } = props;
  const view: View = query.get("view") === "gantt" ? "gantt" : "graph";
  const setView = (next: View) => replaceQuery(new URLSearchParams(next === "gantt" ? { view: next } : {}));
  const { data, error } = usePolled(`flow:${rootId}`, (signal) => api.graph(rootId, signal), REFRESH_MS);
  const [selectedId, setSelectedId] = useState<string | undefined>();
  const root = data?.nodes[data.root_id] ?? data?.nodes[rootId];
  const selected = selectedId ? data?.nodes[selectedId] : undefined;

  return (
    <div className="page page-flow" data-testid="flow-detail" data-root-id={rootId}>
      <div className="flow-head">
        <nav className="crumbs" aria-label="Breadcrumb">
          <a href={links.flows()}>Flows</a> / <span className="mono">{shortId(rootId)}</span>
        </nav>
        {root && (
          <div className="page-head">
            <h1>{root.name ?? "(unknown task)"}</h1>
            <StateBadge state={root.state} />
            <span className="muted">
              started {formatTime(root.first_seen)} · {formatDuration(root.duration_ms)}
            </span>
            <span className="state-counts">
              {stateCounts(data!.nodes).map(([state, count]) => (
                <span key={state} className="count">
                  <StateBadge state={state} /> {count}
                </span>
              ))}
            </span>
            <ViewToggle view={view} onChange={setView} />
            {root.node_type === "TASK" && (
              <a className="button" href={links.task(root.task_id)}>
                Root task →
              </a>
            )}
          </div>
        )}
      </div>
      {error && !data && <ErrorNotice error={error} />}
      {!error && !data && <Loading />}
      {data && (
        <div className="flow-body">
          {view === "graph" ? (
            <div className="flow-canvas" data-testid="flow-canvas">
              <FlowCanvas nodes={data.nodes} selectedId={selectedId} onSelect={setSelectedId} theme={theme} />
            </div>
          ) : (
            <GanttChart nodes={data.nodes} selectedId={selectedId} onSelect={setSelectedId} />
          )}
          {selected && <NodePanel node={selected} onClose={() => setSelectedId(undefined)} />}
        </div>
      )}
    </div>
  );
}
