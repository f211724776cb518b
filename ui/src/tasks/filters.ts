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
  offset: number;
}

export const PAGE_SIZE = 50;

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
  offset: 0,
};

const isState = (value: string): value is TaskState => (TASK_STATES as readonly string[]).includes(value);

export function filtersFromQuery(query: URLSearchParams): TaskFilters {
  const states = (query.get("state") ?? "")
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(isState);
  const offset = Number.parseInt(query.get("offset") ?? "", 10);
  const within = query.get("within") ?? "";
  const filters: TaskFilters = {
    ...emptyFilters,
    // canonical order and no duplicates, so equal filters give equal URLs
    states: TASK_STATES.filter((s) => states.includes(s)),
    within: (WINDOWS as readonly string[]).includes(within) ? (within as WindowChoice) : "",
    offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
  };
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
  if (filters.offset > 0) query.set("offset", String(filters.offset));
  return query;
}

/** Parameters for GET api/tasks (compact: the list needs no events). */
export function filtersToApiParams(filters: TaskFilters, limit: number = PAGE_SIZE): Record<string, QueryValue> {
  const params: Record<string, QueryValue> = { limit, offset: filters.offset, compact: 1 };
  for (const [key, value] of filtersToQuery({ ...filters, offset: 0 })) params[key] = value;
  return params;
}

export function hasFilters(filters: TaskFilters): boolean {
  return filters.states.length > 0 || filters.within !== "" || TEXT_FILTERS.some((key) => filters[key].trim() !== "");
}
