// The two node kinds of the flow canvas: a task card and a GROUP/CHORD container box.
import { Handle, Position, useStore, type Node, type NodeProps, type ReactFlowState } from "@xyflow/react";
import { createContext, useContext } from "react";
import type { GraphNode } from "../api/types";
import { stateClass } from "../components/StateBadge";
import { formatDuration, formatTime } from "../format/time";
import { TEXT_MIN_ZOOM } from "./viewport";

export type TaskFlowNode = Node<{ node: GraphNode }, "task">;
export type ContainerFlowNode = Node<{ node: GraphNode; members: number }, "container">;

const NOT_RUN: Record<string, string> = {
  header_failed: "callback not run: a header task failed",
  header_revoked: "callback not run: a header task was revoked",
  header_ignored: "callback not run: a header task was ignored",
};

/**
 * Whether nodes carry xyflow handles. A large flow draws its edges itself (EdgeLayer) and needs none:
 * two Handle components per node, each subscribed to the canvas's store, are a good part of drawing
 * 2,000 nodes, and of every pan and zoom step while they are in view.
 */
export const HandlesContext = createContext(true);

function Handles() {
  if (!useContext(HandlesContext)) return null;
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </>
  );
}

// Dropping the text of 2,000 cards when the whole flow is in view halves their paint (bench/ui).
const showsText = (state: ReactFlowState) => state.transform[2] >= TEXT_MIN_ZOOM;

export function TaskNodeView({ data, selected }: NodeProps<TaskFlowNode>) {
  const { node } = data;
  const text = useStore(showsText);
  return (
    <div
      className={`flow-task ${stateClass(node.state)}${selected ? " is-selected" : ""}`}
      data-testid="flow-node"
      data-task-id={node.task_id}
      data-state={node.state ?? ""}
      title={`${node.name ?? node.task_id} — ${node.state ?? "UNKNOWN"}`}
    >
      <Handles />
      {text && (
        <>
          <div className="flow-task-name">{node.name ?? "(unknown task)"}</div>
          <div className="flow-task-meta">
            <span className="flow-task-state">{node.state ?? "UNKNOWN"}</span>
            <span>{formatTime(node.first_seen)}</span>
            <span>{formatDuration(node.duration_ms)}</span>
          </div>
        </>
      )}
    </div>
  );
}

export function ContainerNodeView({ data, selected }: NodeProps<ContainerFlowNode>) {
  const { node, members } = data;
  const kind = node.node_type === "CHORD" ? "chord" : "group";
  const reason = node.not_run_reason ? NOT_RUN[node.not_run_reason] ?? node.not_run_reason : null;
  return (
    <div
      className={`flow-container flow-${kind} ${stateClass(node.state)}${selected ? " is-selected" : ""}`}
      data-testid="flow-container"
      data-node-type={node.node_type ?? ""}
      data-task-id={node.task_id}
      data-state={node.state ?? ""}
    >
      <Handles />
      <div className="flow-container-label">
        <span className="flow-container-kind">{kind}</span>
        <span>
          {members} {members === 1 ? "task" : "tasks"}
        </span>
        <span className="flow-task-state">{node.state ?? ""}</span>
        <span>{formatDuration(node.duration_ms)}</span>
        {reason && <span className="flow-container-reason">{reason}</span>}
      </div>
    </div>
  );
}

export const nodeTypes = { task: TaskNodeView, container: ContainerNodeView };
