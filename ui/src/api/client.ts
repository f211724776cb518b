// Typed calls to the REST API. Every call takes an AbortSignal so a view can cancel stale requests.
import { apiUrl, type QueryValue } from "./base";
import type { Failures, Graph, GraphList, Health, Overview, Registry, TaskDetail, TaskList, Timeseries, WorkerList } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string, params: Record<string, QueryValue>, signal?: AbortSignal): Promise<T> {
  const response = await fetch(apiUrl(path, params), { signal, headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = response.statusText || `HTTP ${response.status}`;
    try {
      const body = (await response.json()) as { detail?: unknown };
      if (typeof body.detail === "string") detail = body.detail;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, detail);
  }
  return (await response.json()) as T;
}

const id = encodeURIComponent;

export const api = {
  health: (signal?: AbortSignal) => getJson<Health>("health", {}, signal),
  tasks: (params: Record<string, QueryValue>, signal?: AbortSignal) => getJson<TaskList>("tasks", params, signal),
  task: (taskId: string, signal?: AbortSignal) => getJson<TaskDetail>(`tasks/${id(taskId)}`, {}, signal),
  graphs: (params: Record<string, QueryValue>, signal?: AbortSignal) => getJson<GraphList>("graphs", params, signal),
  graph: (rootId: string, signal?: AbortSignal) => getJson<Graph>(`graphs/${id(rootId)}`, {}, signal),
  workers: (signal?: AbortSignal) => getJson<WorkerList>("workers", {}, signal),
  overview: (within: string, signal?: AbortSignal) => getJson<Overview>("overview", { within }, signal),
  timeseries: (within: string, signal?: AbortSignal) => getJson<Timeseries>("stats/timeseries", { within }, signal),
  failures: (within: string, signal?: AbortSignal) => getJson<Failures>("failures", { within }, signal),
  registry: (params: Record<string, QueryValue>, signal?: AbortSignal) => getJson<Registry>("tasks/registry", params, signal),
};
