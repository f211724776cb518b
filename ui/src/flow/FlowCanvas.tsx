// The flow DAG on an xyflow canvas. Layout is recomputed only when the flow's shape changes; state and
// timing updates just repaint. The viewport (zoom/pan) belongs to the canvas and survives refreshes.
import { Background, Controls, MiniMap, ReactFlow, type Edge, type Viewport } from "@xyflow/react";
import { useLayoutEffect, useMemo, useRef, useState } from "react";
import type { GraphNode } from "../api/types";
import type { Theme } from "../theme/useTheme";
import { nodeTypes, type ContainerFlowNode, type TaskFlowNode } from "./FlowNodes";
import { layoutFlow, structureKey } from "./layout";
import { FIT, initialViewport, nodeHandles } from "./viewport";

type FlowNode = TaskFlowNode | ContainerFlowNode;

interface Props {
  nodes: Record<string, GraphNode>;
  selectedId: string | undefined;
  onSelect: (id: string | undefined) => void;
  theme: Theme;
}

/** Minimap colour: solid for tasks, a light tint for container boxes so their members stay visible. */
function minimapColor(node: FlowNode): string {
  const color = `var(--state-${(node.data.node.state ?? "unknown").toLowerCase()})`;
  return node.type === "container" ? `color-mix(in srgb, ${color} 18%, transparent)` : color;
}

export function FlowCanvas({ nodes, selectedId, onSelect, theme }: Props) {
  const shape = structureKey(nodes);
  const layout = useMemo(() => layoutFlow(nodes), [shape]);
  // The opening viewport is computed from the layout (xyflow's `fitView` would first render every node
  // at zoom 1, then measure them all, then render again), so the flow is drawn once, at the zoom it is
  // seen at. Later layout changes keep the user's viewport.
  const box = useRef<HTMLDivElement>(null);
  const [initial, setInitial] = useState<Viewport>();
  useLayoutEffect(() => {
    const { clientWidth, clientHeight } = box.current!;
    setInitial(initialViewport(layout, clientWidth, clientHeight));
  }, []);

  const flowNodes = useMemo(() => {
    const members = new Map<string, number>();
    for (const placed of layout.nodes) {
      if (placed.parentId) members.set(placed.parentId, (members.get(placed.parentId) ?? 0) + 1);
    }
    return layout.nodes.map((placed): FlowNode => {
      const node = nodes[placed.id] ?? placed.node;
      const common = {
        id: placed.id,
        position: { x: placed.x, y: placed.y },
        width: placed.width,
        height: placed.height,
        // Known sizes and handles: xyflow draws a node and its edges without measuring it first, skips
        // the ones off screen, and fits the view to nodes it never rendered (it fits measured ones only).
        measured: { width: placed.width, height: placed.height },
        handles: nodeHandles(placed.width, placed.height),
        selected: placed.id === selectedId,
        ...(placed.parentId ? { parentId: placed.parentId } : {}),
      };
      return placed.kind === "container"
        ? { ...common, type: "container", data: { node, members: members.get(placed.id) ?? 0 } }
        : { ...common, type: "task", data: { node } };
    });
  }, [layout, nodes, selectedId]);

  const flowEdges = useMemo(
    () =>
      layout.edges.map(
        (edge): Edge => ({
          id: edge.id,
          source: edge.source,
          target: edge.target,
          animated: nodes[edge.target]?.state === "STARTED",
          className: `flow-edge flow-edge-${edge.kind}`,
        }),
      ),
    [layout, nodes],
  );

  return (
    <div ref={box} className="flow-canvas-box">
      {initial && (
        <ReactFlow<FlowNode, Edge>
          nodes={flowNodes}
          edges={flowEdges}
          nodeTypes={nodeTypes}
          colorMode={theme}
          defaultViewport={initial}
          fitViewOptions={FIT}
          minZoom={FIT.minZoom}
          maxZoom={2}
          nodesDraggable={false}
          nodesConnectable={false}
          onlyRenderVisibleElements={layout.nodes.length > 300}
          onNodeClick={(_, node) => onSelect(node.id)}
          onPaneClick={() => onSelect(undefined)}
        >
          <Background gap={20} size={1} />
          <Controls showInteractive={false} />
          <MiniMap pannable zoomable nodeColor={minimapColor} />
        </ReactFlow>
      )}
    </div>
  );
}
