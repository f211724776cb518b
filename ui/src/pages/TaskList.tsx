// The task list as a windowed scroll area: its height stands for every matching task, and only the
// rows in view (plus an overscan) are in the DOM, fetched page by page as they scroll into view.
import { useLayoutEffect, useRef, useState, type ReactNode } from "react";
import type { QueryValue } from "../api/base";
import type { TaskNode } from "../api/types";
import { StateBadge } from "../components/StateBadge";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { formatDuration, formatTime, formatTimestamp, shortId } from "../format/time";
import { links } from "../router/route";
import { useTaskPages, type Row } from "../tasks/useTaskPages";
import { MAX_OFFSET } from "../tasks/windowing";

function TaskRow({ task, index }: { task: TaskNode; index: number }) {
  const open = () => {
    window.location.hash = links.task(task.task_id);
  };
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      data-testid="task-row"
      data-index={index}
      data-task-id={task.task_id}
      data-state={task.state ?? ""}
      className="vrow clickable"
      onClick={open}
    >
      <span role="cell" className="vcell cell-name">
        <a href={links.task(task.task_id)} onClick={(e) => e.stopPropagation()}>
          {task.name ?? "(unknown task)"}
        </a>
        {task.exception_type && <span className="exc">{task.exception_type}</span>}
      </span>
      <span role="cell" className="vcell w-state">
        <StateBadge state={task.state} interrupted={task.interrupted} />
      </span>
      <span role="cell" className="vcell w-id mono col-optional" title={task.task_id}>
        {shortId(task.task_id)}
      </span>
      <span role="cell" className="vcell w-worker col-optional" title={task.hostname ?? undefined}>
        {task.hostname ?? "—"}
      </span>
      <span role="cell" className="vcell w-queue col-optional">
        {task.queue ?? "—"}
      </span>
      <span role="cell" className="vcell w-time col-optional" title={formatTimestamp(task.first_seen)}>
        {formatTime(task.first_seen)}
      </span>
      <span role="cell" className="vcell w-time col-wide" title={formatTimestamp(task.last_updated)}>
        {formatTime(task.last_updated)}
      </span>
      <span role="cell" className="vcell w-duration num">
        {formatDuration(task.duration_ms)}
      </span>
    </div>
  );
}

const PLACEHOLDER: Record<Exclude<Row, TaskNode>, string> = {
  loading: "Loading…",
  missing: "No longer in the list: scroll to the top for the newest",
  beyond: `Beyond the API's reach (offset ≤ ${MAX_OFFSET.toLocaleString("en")}): narrow the filters to see these tasks`,
};

function PlaceholderRow({ kind, index }: { kind: Exclude<Row, TaskNode>; index: number }) {
  return (
    <div role="row" aria-rowindex={index + 2} className="vrow vrow-placeholder" data-testid="task-row-placeholder" data-kind={kind}>
      <span role="cell" className="vcell cell-name muted">
        {PLACEHOLDER[kind]}
      </span>
    </div>
  );
}

export function TaskList({ params, empty }: { params: Record<string, QueryValue>; empty: ReactNode }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewportHeight, setViewportHeight] = useState(0);
  const header = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    // The sticky header (in the scroll box, so its columns match the rows') covers the top of the view.
    const measure = () => setViewportHeight(Math.max(0, element.clientHeight - (header.current?.offsetHeight ?? 0)));
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const pages = useTaskPages(params, scrollTop, viewportHeight);
  const total = pages.total ?? 0;
  const win = pages.window;

  const rows: ReactNode[] = [];
  for (let index = win.first; index < win.last; index++) {
    const row = pages.row(index);
    rows.push(typeof row === "string" ? <PlaceholderRow key={index} kind={row} index={index} /> : <TaskRow key={row.task_id} task={row} index={index} />);
  }

  return (
    <>
      {pages.error && <ErrorNotice error={pages.error} />}
      {pages.loading && !pages.error && <Loading />}
      {pages.total === 0 && <Empty>{empty}</Empty>}
      <div className="list-status" hidden={pages.loading || total === 0}>
        <span className="muted" data-testid="task-total">
          {total.toLocaleString()} {total === 1 ? "task" : "tasks"}
        </span>
        {pages.stale && (
          <button type="button" className="button" data-testid="task-list-newer" onClick={() => scroller.current?.scrollTo({ top: 0 })}>
            ↑ Newer updates: back to the top
          </button>
        )}
      </div>
      <div className="vlist" role="table" aria-label="Tasks" aria-rowcount={total + 1} data-testid="task-table" hidden={pages.loading || total === 0}>
        <div className="vscroll" ref={scroller} data-testid="task-scroller" onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
          <div className="vrow vhead" role="row" aria-rowindex={1} ref={header}>
            <span role="columnheader" className="vcell cell-name">
              Name
            </span>
            <span role="columnheader" className="vcell w-state">
              State
            </span>
            <span role="columnheader" className="vcell w-id col-optional">
              Task id
            </span>
            <span role="columnheader" className="vcell w-worker col-optional">
              Worker
            </span>
            <span role="columnheader" className="vcell w-queue col-optional">
              Queue
            </span>
            <span role="columnheader" className="vcell w-time col-optional">
              Started
            </span>
            <span role="columnheader" className="vcell w-time col-wide">
              Updated
            </span>
            <span role="columnheader" className="vcell w-duration num">
              Duration
            </span>
          </div>
          <div className="vspace" style={{ height: win.scrollHeight }}>
            <div role="rowgroup" className="vrows" style={{ transform: `translateY(${win.top}px)` }}>
              {rows}
            </div>
          </div>
        </div>
      </div>
    </>
  );
}
