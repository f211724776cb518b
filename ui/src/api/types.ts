// Shapes of the REST API answers (see docs / shared/API.md). Any field may be null.

export const TASK_STATES = [
  "PENDING",
  "RECEIVED",
  "STARTED",
  "RETRY",
  "SUCCESS",
  "FAILURE",
  "REVOKED",
  "REJECTED",
  "IGNORED",
] as const;

export type TaskState = (typeof TASK_STATES)[number];

export type NodeType = "TASK" | "GROUP" | "CHORD";

export interface TaskEvent {
  task_id: string;
  name: string | null;
  state: TaskState | null;
  timestamp: string | null;
  parent_id: string | null;
  root_id: string | null;
  group_id: string | null;
  trace_id: string | null;
  retries: number | null;
  args: unknown;
  kwargs: unknown;
  result: unknown;
  exception: string | null;
  exception_type: string | null;
  traceback: string | null;
  hostname: string | null;
  queue: string | null;
  routing_key: string | null;
  eta: string | null;
}

export interface GraphNode {
  task_id: string;
  name: string | null;
  state: TaskState | null;
  node_type: NodeType | null;
  group_id: string | null;
  chord_id: string | null;
  parent_id: string | null;
  reported_parent_id?: string | null;
  children: string[] | null;
  first_seen: string | null;
  last_updated: string | null;
  duration_ms: number | null;
  queue_wait_ms?: number | null;
  runtime_ms?: number | null;
  total_runtime_ms?: number | null;
  eta?: string | null;
  exception_type?: string | null;
  hostname?: string | null;
  queue?: string | null;
  routing_key?: string | null;
  trace_id?: string | null;
  retries?: number | null;
  not_run_reason?: "header_failed" | "header_revoked" | "header_ignored" | null;
  /** Why a RECEIVED/STARTED task can no longer be running (its worker is gone); null otherwise. */
  interrupted?: "worker_offline" | "worker_stale" | "worker_restarted" | null;
  /** Containers: every task with the group id (a chord callback is not one of them). */
  members?: string[] | null;
}

/** A flow in GET api/graphs: its root node plus the aggregate of the whole flow. */
export interface FlowSummary extends GraphNode {
  flow_state?: TaskState | null;
  task_count?: number | null;
  flow_first_seen?: string | null;
  flow_last_updated?: string | null;
}

export interface TaskNode extends GraphNode {
  events: TaskEvent[] | null;
}

export interface Page {
  total: number;
  limit: number;
  offset: number;
}

export interface TaskList extends Page {
  tasks: TaskNode[];
}

export interface TaskDetail {
  task: TaskNode;
  children: TaskNode[];
}

export interface GraphList extends Page {
  graphs: FlowSummary[];
}

export interface Graph {
  root_id: string;
  nodes: Record<string, GraphNode>;
}

export interface Health {
  status: "ok" | "degraded";
  version: string | null;
  consumer_running?: boolean;
  consumer_connected?: boolean;
  /** Why the consumer last failed (a refused certificate, an unknown master…), kept until it reconnects. */
  last_error?: string | null;
  node_count?: number;
}

export interface Worker {
  hostname: string;
  pid: number | null;
  registered_tasks: string[] | null;
  status: "online" | "offline" | "stale" | null;
  registered_at: string | null;
  last_seen: string | null;
}

export interface WorkerList {
  workers: Worker[];
  total: number;
}

/** A synthetic GROUP/CHORD container (id "group:<group_id>") rather than a task. */
export const isContainer = (node: GraphNode | undefined): boolean =>
  node?.node_type === "GROUP" || node?.node_type === "CHORD";

export interface Window {
  start: string;
  end: string;
}

/** A figure over the chosen window and the same-length window before it. */
export interface Compared {
  value: number;
  baseline: number;
}

export interface Overview {
  window: Window;
  runs: Compared;
  failures: Compared;
  runs_per_minute: Compared;
  failure_rate: Compared;
  workers: { online: number; total: number };
}

export interface Timeseries {
  window: Window;
  bucket_seconds: number;
  starts: string[];
  counts: Partial<Record<TaskState, number[]>>;
}

export interface FailureGroup {
  exception_type: string | null;
  count: number;
  first_seen: string | null;
  last_seen: string | null;
  task_names: string[];
  sample_task_ids: string[];
}

export interface Failures {
  window: Window;
  group_by: string;
  total: number;
  groups: FailureGroup[];
}

export type RegistryStatus = "active" | "never_run" | "not_registered";

export interface RegisteredTask {
  name: string;
  module: string | null;
  signature: string | null;
  docstring: string | null;
  bound: boolean | null;
  execution_count: number;
  registered_by: string[];
  last_run: string | null;
  status: RegistryStatus;
}

export interface Registry {
  tasks: RegisteredTask[];
  total: number;
}
