import type { ReactNode } from "react";
import { api } from "../api/client";
import { isContainer, type TaskEvent, type TaskNode } from "../api/types";
import { CopyButton } from "../components/CopyButton";
import { JsonTree } from "../components/JsonTree";
import { StateBadge, stateClass } from "../components/StateBadge";
import { ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { formatClock, formatDuration, formatTimestamp, shortId } from "../format/time";
import { links } from "../router/route";
import { filtersToQuery, emptyFilters } from "../tasks/filters";
import { attempts } from "../task/attempts";
import { callSnippet } from "../task/call";
import { flowRootOf, latest, sortedEvents } from "../task/payload";

function IdRow({ label, id, href }: { label: string; id: string | null | undefined; href?: string }) {
  if (!id) return null;
  return (
    <div className="kv">
      <dt>{label}</dt>
      <dd className="id-value">
        {href ? (
          <a className="mono" href={href}>
            {id}
          </a>
        ) : (
          <span className="mono">{id}</span>
        )}
        <CopyButton text={id} label={`Copy ${label}`} />
      </dd>
    </div>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="kv">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <section className="card" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function TimingCards({ task }: { task: TaskNode }) {
  const cards = [
    ["Queue wait", task.queue_wait_ms],
    ["Runtime", task.runtime_ms],
    ["Total runtime", task.total_runtime_ms],
    ["Duration", task.duration_ms],
  ] as const;
  return (
    <div className="stats">
      {cards.map(([label, ms]) => (
        <div key={label} className="stat">
          <span className="stat-label">{label}</span>
          <span className="stat-value">{formatDuration(ms)}</span>
        </div>
      ))}
    </div>
  );
}

function Timeline({ events }: { events: TaskEvent[] }) {
  const rows = attempts(events);
  if (rows.length === 0) return null;
  return (
    <Section title="Timeline" testId="task-timeline">
      <ol className="attempts">
        {rows.map((attempt) => (
          <li key={attempt.number} className="attempt" data-testid="attempt" data-attempt={attempt.number}>
            <span className="attempt-name">
              Attempt {attempt.number + 1}
              {attempt.hostname && <span className="muted"> · {attempt.hostname}</span>}
            </span>
            <ol className="steps">
              {attempt.steps.map((step, index) => (
                <li key={index} className={`step ${stateClass(step.state)}`} data-testid="timeline-step" data-state={step.state ?? ""}>
                  <span className="step-label">{step.label}</span>
                  <span className="step-time mono" title={formatTimestamp(step.timestamp)}>
                    {formatClock(step.timestamp)}
                  </span>
                  {step.sinceMs !== null && <span className="step-since">+{formatDuration(step.sinceMs)}</span>}
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
    </Section>
  );
}

function CallSection({ task, events }: { task: TaskNode; events: TaskEvent[] }) {
  const snippet = callSnippet(task.name, latest(events, "args"), latest(events, "kwargs"));
  if (!snippet) return null;
  return (
    <Section title="Call again" testId="task-call">
      <div className="call">
        <pre className="call-code" data-testid="call-snippet">
          {snippet}
        </pre>
        <CopyButton text={snippet} label="Copy as call" caption="Copy as call" />
      </div>
      {snippet.includes("[Filtered]") && <p className="muted">Some values were filtered before they were stored.</p>}
    </Section>
  );
}

function TaskBody({ task, childTasks }: { task: TaskNode; childTasks: TaskNode[] }) {
  const events = sortedEvents(task);
  const payload = [
    ["Args", latest(events, "args")],
    ["Kwargs", latest(events, "kwargs")],
    ["Result", latest(events, "result")],
  ] as const;
  const exception = latest(events, "exception");
  const traceback = latest(events, "traceback");
  const rootId = flowRootOf(task);
  const traceHref = task.trace_id ? links.tasks(filtersToQuery({ ...emptyFilters, trace_id: task.trace_id })) : undefined;

  return (
    <div className="page" data-testid="task-detail" data-task-id={task.task_id} data-state={task.state ?? ""}>
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={links.tasks()}>Tasks</a> / <span className="mono">{shortId(task.task_id)}</span>
      </nav>
      <div className="page-head">
        <h1 className="task-title">{task.name ?? "(unknown task)"}</h1>
        <StateBadge state={task.state} interrupted={task.interrupted} />
        {!!task.retries && <span className="muted">{task.retries} retries</span>}
        <a className="button" href={links.flow(rootId)} data-testid="flow-link">
          View flow →
        </a>
      </div>

      <TimingCards task={task} />

      <div className="grid-2">
        <Section title="Identifiers">
          <dl className="kvs">
            <IdRow label="Task id" id={task.task_id} />
            <IdRow label="Parent" id={task.parent_id} href={task.parent_id ? links.task(task.parent_id) : undefined} />
            <IdRow label="Root" id={rootId} href={links.flow(rootId)} />
            <IdRow label="Group" id={task.group_id} />
            <IdRow label="Chord callback" id={task.chord_id} href={task.chord_id ? links.task(task.chord_id) : undefined} />
            <IdRow label="Trace" id={task.trace_id} href={traceHref} />
          </dl>
        </Section>
        <Section title="Execution">
          <dl className="kvs">
            <Fact label="Worker">{task.hostname ?? "—"}</Fact>
            <Fact label="Queue">{task.queue ?? "—"}</Fact>
            <Fact label="Routing key">{task.routing_key ?? "—"}</Fact>
            <Fact label="First seen">{formatTimestamp(task.first_seen)}</Fact>
            <Fact label="Last update">{formatTimestamp(task.last_updated)}</Fact>
            {task.eta && <Fact label="ETA">{formatTimestamp(task.eta)}</Fact>}
          </dl>
        </Section>
      </div>

      {(task.exception_type || exception || traceback) && (
        <Section title="Exception" testId="task-exception">
          <p className="exception-line">
            <strong>{task.exception_type ?? latest(events, "exception_type") ?? "Error"}</strong>
            {exception && <span>: {exception}</span>}
          </p>
          {traceback && <pre className="traceback">{traceback}</pre>}
        </Section>
      )}

      <div className="grid-3">
        {payload.map(([title, value]) => (
          <Section key={title} title={title} testId={`task-${title.toLowerCase()}`}>
            {value === undefined ? <p className="muted">—</p> : <JsonTree value={value} />}
          </Section>
        ))}
      </div>

      <CallSection task={task} events={events} />

      <Timeline events={events} />

      <Section title={`Events (${events.length})`} testId="task-events">
        <div className="table-wrap">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>Time</th>
                <th>State</th>
                <th>Worker</th>
                <th className="num">Retries</th>
                <th>Exception</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event, index) => (
                <tr key={index} data-testid="event-row" data-state={event.state ?? ""}>
                  <td className="nowrap mono">{formatTimestamp(event.timestamp)}</td>
                  <td>
                    <StateBadge state={event.state} />
                  </td>
                  <td>{event.hostname ?? "—"}</td>
                  <td className="num">{event.retries ?? 0}</td>
                  <td>{event.exception_type ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>

      {childTasks.length > 0 && (
        <Section title={`Children (${childTasks.length})`} testId="task-children">
          <ul className="link-list">
            {childTasks.map((child) => (
              <li key={child.task_id}>
                <StateBadge state={child.state} interrupted={child.interrupted} />
                <a
                  href={isContainer(child) ? links.flow(rootId) : links.task(child.task_id)}
                  data-testid="child-link"
                >
                  {child.name ?? child.task_id}
                </a>
                <span className="muted mono">{shortId(child.task_id)}</span>
                <span className="muted">{formatDuration(child.duration_ms)}</span>
              </li>
            ))}
          </ul>
        </Section>
      )}
    </div>
  );
}

export function TaskPage({ taskId }: { taskId: string }) {
  const { data, error } = usePolled(`task:${taskId}`, (signal) => api.task(taskId, signal), REFRESH_MS);
  if (data) return <TaskBody task={data.task} childTasks={data.children ?? []} />;
  return (
    <div className="page">
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={links.tasks()}>Tasks</a> / <span className="mono">{shortId(taskId)}</span>
      </nav>
      {error ? <ErrorNotice error={error} /> : <Loading />}
    </div>
  );
}
