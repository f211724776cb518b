import { useRef } from "react";
import { api } from "../api/client";
import { isContainer, type FlowSummary } from "../api/types";
import { DebouncedInput } from "../components/DebouncedInput";
import { StateChips, WindowPresets } from "../components/FilterControls";
import { Pager } from "../components/Pager";
import { StateBadge } from "../components/StateBadge";
import { Empty, ErrorNotice, Loading } from "../components/Status";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import {
  FLOW_PAGE_SIZE,
  flowApiParams,
  flowFiltersFromQuery,
  flowFiltersToQuery,
  filtersLocally,
  flowMatches,
  type FlowFilters,
} from "../flow/listFilters";
import { flowDurationMs } from "../flow/summary";
import { formatDuration, formatTime, formatTimestamp, shortId } from "../format/time";
import { links } from "../router/route";

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

export function FlowsPage({ query, replaceQuery }: { query: URLSearchParams; replaceQuery: (q: URLSearchParams) => void }) {
  const filters = flowFiltersFromQuery(query);
  const latest = useRef(filters);
  latest.current = filters;
  const params = flowApiParams(filters);
  const { data, error, loading } = usePolled(`flows:${JSON.stringify(params)}`, (signal) => api.graphs(params, signal), REFRESH_MS);
  // A filter change starts again from the newest flows.
  const update = (patch: Partial<FlowFilters>) => replaceQuery(flowFiltersToQuery({ ...latest.current, ...patch, offset: 0 }));
  const hrefAt = (offset: number) => links.flows(flowFiltersToQuery({ ...filters, offset }));
  const local = filtersLocally(filters);
  const shown = data ? data.graphs.filter((flow) => flowMatches(flow, filters)) : [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Flows</h1>
        {data && <span className="muted">{data.total.toLocaleString()} total</span>}
      </div>
      <section className="filters" aria-label="Filters" data-testid="flow-filters">
        <StateChips states={filters.states} onChange={(states) => update({ states })} />
        <WindowPresets within={filters.within} label="Updated within" testId="flow-window" onChange={(within) => update({ within })} />
        <div className="filter-fields">
          <label className="field">
            <span>Root task name</span>
            <DebouncedInput
              type="search"
              name="name"
              data-testid="flow-filter-name"
              placeholder="Name contains…"
              value={filters.name}
              onCommit={(name) => update({ name })}
            />
          </label>
        </div>
      </section>
      {error && <ErrorNotice error={error} />}
      {!data && loading && !error && <Loading />}
      {data && data.graphs.length === 0 && (
        <Empty>{filters.within ? "No flow in this time window." : "No flows yet. Every task without a parent starts one."}</Empty>
      )}
      {data && data.graphs.length > 0 && (
        <>
          {local && (
            <p className="muted" data-testid="flow-filter-note">
              {shown.length} of the {data.graphs.length} flows on this page match the state and name filters (they apply to one page at a
              time; older pages may hold more).
            </p>
          )}
          {shown.length > 0 && (
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
                  {shown.map((flow) => (
                    <FlowRow key={flow.task_id} flow={flow} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager offset={filters.offset} limit={FLOW_PAGE_SIZE} total={data.total} shown={data.graphs.length} hrefAt={hrefAt} />
        </>
      )}
    </div>
  );
}
