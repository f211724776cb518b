// Flow-list filters ⇄ the query of the #/flows route. GET api/graphs filters by time only, so the time
// window goes to the API and the state and name filters apply to the page of flows it returned.
import type { QueryValue } from "../api/base";
import type { FlowSummary, TaskState } from "../api/types";
import type { WindowChoice } from "../overview/stats";
import { statesFromQuery, withinFromQuery } from "../tasks/filters";

export interface FlowFilters {
  /** States of the whole flow (running while any task runs, else the worst outcome). */
  states: TaskState[];
  /** Case-insensitive substring of the root's name. */
  name: string;
  within: WindowChoice | "";
  offset: number;
}

export const FLOW_PAGE_SIZE = 50;

export function flowFiltersFromQuery(query: URLSearchParams): FlowFilters {
  const offset = Number.parseInt(query.get("offset") ?? "", 10);
  return {
    states: statesFromQuery(query),
    name: query.get("name")?.trim() ?? "",
    within: withinFromQuery(query),
    offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
  };
}

export function flowFiltersToQuery(filters: FlowFilters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.states.length) query.set("state", filters.states.join(","));
  if (filters.name.trim()) query.set("name", filters.name.trim());
  if (filters.within) query.set("within", filters.within);
  if (filters.offset > 0) query.set("offset", String(filters.offset));
  return query;
}

/** Parameters for GET api/graphs: paging and the time window. */
export function flowApiParams(filters: FlowFilters): Record<string, QueryValue> {
  return { limit: FLOW_PAGE_SIZE, offset: filters.offset, within: filters.within || undefined };
}

/** Whether a loaded flow passes the filters the API cannot apply. */
export function flowMatches(flow: FlowSummary, filters: FlowFilters): boolean {
  const state = flow.flow_state ?? flow.state;
  if (filters.states.length && !(state && filters.states.includes(state))) return false;
  const name = filters.name.trim().toLowerCase();
  return !name || (flow.name ?? "").toLowerCase().includes(name);
}

/** Whether state or name filters are set (the page then shows only part of what it loaded). */
export function filtersLocally(filters: FlowFilters): boolean {
  return filters.states.length > 0 || filters.name.trim() !== "";
}
