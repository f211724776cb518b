// The Gantt view of a flow: a row per task on one time axis (queue wait lighter, then the run), the
// critical path outlined. Clicking a row selects the task, as in the graph. The task list's timeline
// draws its tasks with it too, without a critical path (they are not one flow).
import { stateClass } from "../components/StateBadge";
import { formatDuration, formatTimestamp } from "../format/time";
import type { GraphNode } from "../api/types";
import { barGeometry, gantt, ticks } from "./gantt";

export function GanttChart(props: {
  nodes: Record<string, GraphNode>;
  selectedId: string | undefined;
  onSelect: (id: string) => void;
  withCriticalPath?: boolean;
}) {
  const { nodes, selectedId, onSelect, withCriticalPath = true } = props;
  const chart = gantt(nodes, Date.now(), withCriticalPath);
  const total = Math.max(chart.end - chart.start, 1);
  const pct = (ms: number) => `${(ms / total) * 100}%`;
  return (
    <div className="gantt" data-testid="gantt">
      <div className="gantt-legend muted">
        {withCriticalPath ? (
          <>
            <span className="gantt-key gantt-key-critical" /> critical path ({chart.critical.length} tasks,{" "}
            {formatDuration(chart.end - chart.start)})
          </>
        ) : (
          <>{formatDuration(chart.end - chart.start)} from the first to the last</>
        )}{" "}
        <span className="gantt-key gantt-key-queue" /> queued
      </div>
      <div className="gantt-row gantt-axis" aria-hidden="true">
        <span className="gantt-label" />
        <span className="gantt-track">
          {ticks(total).map((t) => (
            <span key={t} className="gantt-tick" style={{ left: pct(t) }}>
              +{formatDuration(t)}
            </span>
          ))}
        </span>
      </div>
      {chart.bars.map((bar) => {
        const id = bar.node.task_id;
        const geometry = barGeometry(bar, chart);
        const title = `${bar.node.name ?? id}: ${formatTimestamp(new Date(bar.start).toISOString())} → ${formatDuration(bar.end - bar.start)}`;
        return (
          <button
            type="button"
            key={id}
            className={`gantt-row${bar.critical ? " is-critical" : ""}${id === selectedId ? " is-selected" : ""}`}
            data-testid="gantt-row"
            data-task-id={id}
            data-critical={bar.critical}
            onClick={() => onSelect(id)}
            title={title}
          >
            <span className="gantt-label">{bar.node.name ?? id}</span>
            <span className="gantt-track">
              <span className={`gantt-bar ${stateClass(bar.node.state)}`} style={{ left: `${geometry.left}%`, width: `${geometry.width}%` }}>
                <span className="gantt-queue" style={{ width: `${geometry.queue}%` }} />
              </span>
              <span className="gantt-duration" style={{ left: pct(bar.end - chart.start) }}>
                {formatDuration(bar.end - bar.start)}
              </span>
            </span>
          </button>
        );
      })}
    </div>
  );
}
