// Side panel with the details of the node clicked on the flow canvas.
import { isContainer, type GraphNode } from "../api/types";
import { CopyButton } from "../components/CopyButton";
import { StateBadge } from "../components/StateBadge";
import { formatDuration, formatTimestamp } from "../format/time";
import { links } from "../router/route";

export function NodePanel({ node, onClose }: { node: GraphNode; onClose: () => void }) {
  const container = isContainer(node);
  const facts: [string, string][] = [
    ["First seen", formatTimestamp(node.first_seen)],
    ["Last update", formatTimestamp(node.last_updated)],
    ["Duration", formatDuration(node.duration_ms)],
    ...(container
      ? []
      : ([
          ["Queue wait", formatDuration(node.queue_wait_ms)],
          ["Runtime", formatDuration(node.runtime_ms)],
          ["Worker", node.hostname ?? "—"],
          ["Queue", node.queue ?? "—"],
          ["Retries", String(node.retries ?? 0)],
        ] as [string, string][])),
  ];
  return (
    <aside className="side-panel" data-testid="node-panel" data-task-id={node.task_id} aria-label="Node details">
      <div className="side-panel-head">
        <h2>{container ? `${node.node_type?.toLowerCase()} (${node.children?.length ?? 0})` : node.name ?? "(unknown task)"}</h2>
        <button type="button" className="icon-button" onClick={onClose} aria-label="Close details">
          ×
        </button>
      </div>
      <div className="side-panel-state">
        <StateBadge state={node.state} interrupted={node.interrupted} />
        {node.exception_type && <span className="exc">{node.exception_type}</span>}
      </div>
      <div className="id-value">
        <span className="mono small">{node.task_id}</span>
        <CopyButton text={node.task_id} label="Copy id" />
      </div>
      {node.not_run_reason && <p className="notice notice-error">Callback not run: {node.not_run_reason.replace("_", " ")}</p>}
      <dl className="kvs">
        {facts.map(([label, value]) => (
          <div className="kv" key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {!container && (
        <a className="button button-primary" href={links.task(node.task_id)} data-testid="node-panel-open">
          Open task details →
        </a>
      )}
    </aside>
  );
}
