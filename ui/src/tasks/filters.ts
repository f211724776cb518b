// Task-list filters ⇄ the query of the #/tasks route ⇄ the parameters of GET api/tasks.
import type { QueryValue } from "../api/base";
import { TASK_STATES, type TaskState } from "../api/types";
import { WINDOWS, type WindowChoice } from "../overview/stats";

export const TEXT_FILTERS = ["name", "name_exact", "hostname", "queue", "exception_type", "trace_id", "search"] as const;
export type TextFilter = (typeof TEXT_FILTERS)[number];

export interface TaskFilters extends Record<TextFilter, string> {
  states: TaskState[];
  /** Only tasks last updated within this window; "" for any time. */
  within: WindowChoice | "";
}

export const emptyFilters: TaskFilters = {
  states: [],
  name: "",
  name_exact: "",
  hostname: "",
  queue: "",
  exception_type: "",
  trace_id: "",
  search: "",
  within: "",
};

const isState = (value: string): value is TaskState => (TASK_STATES as readonly string[]).includes(value);

/** The `state` parameter (any case, comma-separated) in canonical order without duplicates or unknown states. */
export function statesFromQuery(query: URLSearchParams): TaskState[] {
  const states = (query.get("state") ?? "")
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(isState);
  // canonical order and no duplicates, so equal filters give equal URLs
  return TASK_STATES.filter((s) => states.includes(s));
}

/** The `within` parameter if it is one of the presets, else "" (any time). */
export function withinFromQuery(query: URLSearchParams): WindowChoice | "" {
  const within = query.get("within") ?? "";
  return (WINDOWS as readonly string[]).includes(within) ? (within as WindowChoice) : "";
}

export function filtersFromQuery(query: URLSearchParams): TaskFilters {
  const filters: TaskFilters = { ...emptyFilters, states: statesFromQuery(query), within: withinFromQuery(query) };
  for (const key of TEXT_FILTERS) filters[key] = query.get(key)?.trim() ?? "";
  return filters;
}

export function filtersToQuery(filters: TaskFilters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.states.length) query.set("state", TASK_STATES.filter((s) => filters.states.includes(s)).join(","));
  for (const key of TEXT_FILTERS) {
    const value = filters[key].trim();
    if (value) query.set(key, value);
  }
  if (filters.within) query.set("within", filters.within);
  return query;
}

/** Filter parameters for GET api/tasks (compact: lists need no events); the caller adds limit and offset. */
export function filtersToApiParams(filters: TaskFilters): Record<string, QueryValue> {
  const params: Record<string, QueryValue> = { compact: 1 };
  for (const [key, value] of filtersToQuery(filters)) params[key] = value;
  return params;
}

export function hasFilters(filters: TaskFilters): boolean {
  return filters.states.length > 0 || filters.within !== "" || TEXT_FILTERS.some((key) => filters[key].trim() !== "");
}
