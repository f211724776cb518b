import { api } from "../api/client";
import { isContainer, type FlowSummary } from "../api/types";
import { Pager } from "../components/Pager";
import { StateBadge } from "../components/StateBadge";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { flowDurationMs } from "../flow/summary";
import { formatDuration, formatTime, formatTimestamp, shortId } from "../format/time";
import { links } from "../router/route";

const FLOW_PAGE_SIZE = 50;

function offsetFrom(query: URLSearchParams): number {
  const offset = Number.parseInt(query.get("offset") ?? "", 10);
  return Number.isFinite(offset) && offset > 0 ? offset : 0;
}

const flowsHref = (offset: number) => links.flows(offset > 0 ? new URLSearchParams({ offset: String(offset) }) : undefined);

function FlowRow({ flow }: { flow: FlowSummary }) {
  const state = flow.flow_state ?? flow.state;
  const firstSeen = flow.flow_first_seen ?? flow.first_seen;
  return (
    <tr
      data-testid="flow-row"
      data-root-id={flow.task_id}
      data-state={state ?? ""}
      className="clickable"
      onClick={() => {
        window.location.hash = links.flow(flow.task_id);
      }}
    >
      <td className="cell-name">
        <a href={links.flow(flow.task_id)} onClick={(e) => e.stopPropagation()}>
          {flow.name ?? "(unknown task)"}
        </a>
        {isContainer(flow) && <span className="tag">{flow.node_type?.toLowerCase()}</span>}
      </td>
      <td>
        <StateBadge state={state} />
      </td>
      <td className="mono col-optional" title={flow.task_id}>
        {shortId(flow.task_id)}
      </td>
      <td className="num col-optional" data-testid="flow-task-count">
        {flow.task_count ?? "—"}
      </td>
      <td className="nowrap" title={formatTimestamp(firstSeen)}>
        {formatTime(firstSeen)}
      </td>
      <td className="nowrap num">{formatDuration(flowDurationMs(flow))}</td>
    </tr>
  );
}

export function FlowsPage({ query }: { query: URLSearchParams }) {
  const offset = offsetFrom(query);
  const { data, error, loading } = usePolled(
    `flows:${offset}`,
    (signal) => api.graphs({ limit: FLOW_PAGE_SIZE, offset }, signal),
    REFRESH_MS,
  );
  return (
    <div className="page">
      <div className="page-head">
        <h1>Flows</h1>
        {data && <span className="muted">{data.total.toLocaleString()} total</span>}
      </div>
      {error && <ErrorNotice error={error} />}
      {!data && loading && !error && <Loading />}
      {data && data.graphs.length === 0 && <Empty>No flows yet. Every task without a parent starts one.</Empty>}
      {data && data.graphs.length > 0 && (
        <>
          <div className={`table-wrap${loading ? " is-stale" : ""}`}>
            <table className="table" data-testid="flow-table">
              <thead>
                <tr>
                  <th>Root</th>
                  <th>State</th>
                  <th className="col-optional">Root id</th>
                  <th className="num col-optional" title="Tasks in the whole flow">
                    Tasks
                  </th>
                  <th>Started</th>
                  <th className="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {data.graphs.map((flow) => (
                  <FlowRow key={flow.task_id} flow={flow} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager offset={offset} limit={FLOW_PAGE_SIZE} total={data.total} shown={data.graphs.length} hrefAt={flowsHref} />
        </>
      )}
    </div>
  );
}
