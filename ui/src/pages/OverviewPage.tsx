// The landing page: how the last window went compared with the one before, at a glance.
import { api } from "../api/client";
import type { Compared, Overview } from "../api/types";
import { StateBadge } from "../components/StateBadge";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { flowDurationMs } from "../flow/summary";
import { formatAgo, formatDuration, formatTime, formatTimestamp } from "../format/time";
import { ThroughputChart } from "../overview/ThroughputChart";
import { change, WINDOWS, windowFrom, type WindowChoice } from "../overview/stats";
import { links } from "../router/route";
import { emptyFilters, filtersToQuery } from "../tasks/filters";

const OVERVIEW_MS = REFRESH_MS * 2;
const SLOWEST = 5;

function Kpi(props: { id: string; label: string; figure: Compared; format: (n: number) => string; worseWhenUp?: boolean }) {
  const { id, label, figure, format, worseWhenUp } = props;
  const delta = change(figure);
  const up = figure.value > figure.baseline;
  const tone = figure.value === figure.baseline ? "" : up === !!worseWhenUp ? " delta-bad" : " delta-good";
  return (
    <div className="stat" data-testid="kpi" data-kpi={id}>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{format(figure.value)}</span>
      <span className={`delta${tone}`} title={`previous window: ${format(figure.baseline)}`}>
        {delta} vs previous
      </span>
    </div>
  );
}

function Kpis({ overview }: { overview: Overview }) {
  const count = (n: number) => n.toLocaleString();
  const percent = (n: number) => `${(n * 100).toFixed(n > 0 && n < 0.01 ? 2 : 1)}%`;
  return (
    <div className="stats">
      <Kpi id="runs" label="Runs" figure={overview.runs} format={count} />
      <Kpi id="failures" label="Failures" figure={overview.failures} format={count} worseWhenUp />
      <Kpi id="failure_rate" label="Failure rate" figure={overview.failure_rate} format={percent} worseWhenUp />
      <Kpi id="runs_per_minute" label="Runs / minute" figure={overview.runs_per_minute} format={(n) => n.toFixed(1)} />
      <a className="stat stat-link" data-testid="kpi" data-kpi="workers" href={links.workers()}>
        <span className="stat-label">Workers online</span>
        <span className="stat-value">
          {overview.workers.online} <span className="muted">/ {overview.workers.total}</span>
        </span>
      </a>
    </div>
  );
}

function Throughput({ within }: { within: WindowChoice }) {
  const { data, error } = usePolled(`series:${within}`, (signal) => api.timeseries(within, signal), OVERVIEW_MS);
  return (
    <section className="card">
      <h2>Throughput by state</h2>
      {error && <ErrorNotice error={error} />}
      {data ? <ThroughputChart series={data} /> : !error && <Loading />}
    </section>
  );
}

function TopFailures({ within }: { within: WindowChoice }) {
  const { data, error } = usePolled(`failures:${within}`, (signal) => api.failures(within, signal), OVERVIEW_MS);
  const failedWith = (exception: string | null) =>
    links.tasks(filtersToQuery({ ...emptyFilters, states: ["FAILURE"], exception_type: exception ?? "" }));
  return (
    <section className="card">
      <h2>Top failing exceptions</h2>
      {error && <ErrorNotice error={error} />}
      {!data && !error && <Loading />}
      {data && data.groups.length === 0 && <p className="muted">No failures in this window.</p>}
      {data && data.groups.length > 0 && (
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Exception</th>
              <th className="num">Count</th>
              <th>Tasks</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {data.groups.slice(0, 8).map((group) => (
              <tr key={group.exception_type ?? ""} data-testid="failure-group" data-exception={group.exception_type ?? ""}>
                <td className="cell-name">
                  <a href={failedWith(group.exception_type)}>{group.exception_type ?? "(no type)"}</a>
                </td>
                <td className="num">{group.count.toLocaleString()}</td>
                <td className="cell-wrap">{group.task_names.join(", ")}</td>
                <td className="nowrap" title={formatTimestamp(group.last_seen)}>
                  {formatAgo(group.last_seen)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SlowestFlows({ within }: { within: WindowChoice }) {
  const { data, error } = usePolled(`slow:${within}`, (signal) => api.graphs({ within, limit: 100 }, signal), OVERVIEW_MS);
  const slowest = [...(data?.graphs ?? [])]
    .sort((a, b) => (flowDurationMs(b) ?? -1) - (flowDurationMs(a) ?? -1))
    .slice(0, SLOWEST);
  return (
    <section className="card">
      <h2>Slowest flows</h2>
      {error && <ErrorNotice error={error} />}
      {!data && !error && <Loading />}
      {data && slowest.length === 0 && <p className="muted">No flows in this window.</p>}
      {slowest.length > 0 && (
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Flow</th>
              <th>State</th>
              <th className="num">Tasks</th>
              <th>Started</th>
              <th className="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {slowest.map((flow) => (
              <tr key={flow.task_id} data-testid="slow-flow" data-root-id={flow.task_id}>
                <td className="cell-name">
                  <a href={links.flow(flow.task_id)}>{flow.name ?? "(unknown task)"}</a>
                </td>
                <td>
                  <StateBadge state={flow.flow_state ?? flow.state} />
                </td>
                <td className="num">{flow.task_count ?? "—"}</td>
                <td className="nowrap">{formatTime(flow.flow_first_seen ?? flow.first_seen)}</td>
                <td className="num nowrap">{formatDuration(flowDurationMs(flow))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function OverviewPage({ query, replaceQuery }: { query: URLSearchParams; replaceQuery: (q: URLSearchParams) => void }) {
  const within = windowFrom(query);
  const { data, error } = usePolled(`overview:${within}`, (signal) => api.overview(within, signal), OVERVIEW_MS);
  return (
    <div className="page" data-testid="overview" data-within={within}>
      <div className="page-head">
        <h1>Overview</h1>
        {data && (
          <span className="muted">
            {formatTime(data.window.start)} – {formatTime(data.window.end)}
          </span>
        )}
        <div className="view-toggle" role="group" aria-label="Window" data-testid="window-picker">
          {WINDOWS.map((w) => (
            <button key={w} type="button" aria-pressed={w === within} data-within={w} onClick={() => replaceQuery(new URLSearchParams({ within: w }))}>
              {w}
            </button>
          ))}
        </div>
      </div>
      {error && <ErrorNotice error={error} />}
      {!data && !error && <Loading />}
      {data && data.runs.value === 0 && data.runs.baseline === 0 && (
        <Empty>No tasks in this window yet. They appear as soon as a worker running stemtrace.init(app) sends events.</Empty>
      )}
      {data && <Kpis overview={data} />}
      <Throughput within={within} />
      <div className="grid-2">
        <TopFailures within={within} />
        <SlowestFlows within={within} />
      </div>
    </div>
  );
}
