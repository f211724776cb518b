// The flow DAG on an xyflow canvas. Layout is recomputed only when the flow's shape changes; state and
// timing updates just repaint. The viewport (zoom/pan) belongs to the canvas and survives refreshes.
import { Background, Controls, MiniMap, ReactFlow, type Edge, type Viewport } from "@xyflow/react";
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { GraphNode } from "../api/types";
import type { Theme } from "../theme/useTheme";
import { EdgeLayer } from "./EdgeLayer";
import { flowEdgeBuilder, flowNodeBuilder, LARGE_FLOW, type FlowNode } from "./elements";
import { HandlesContext, nodeTypes } from "./FlowNodes";
import { layoutFlow, structureKey } from "./layout";
import { FIT, initialViewport } from "./viewport";

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

const NO_EDGES: Edge[] = [];

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

  const large = layout.nodes.length >= LARGE_FLOW;
  const [buildNodes] = useState(flowNodeBuilder);
  const [buildEdges] = useState(flowEdgeBuilder);
  const flowNodes = useMemo(() => buildNodes(layout, nodes, selectedId), [layout, nodes, selectedId]);
  const flowEdges = useMemo(() => (large ? NO_EDGES : buildEdges(layout, nodes)), [large, layout, nodes]);
  // Stable handlers: xyflow hands them to every node, and a new one re-renders them all.
  const onNodeClick = useCallback((_: unknown, node: FlowNode) => onSelect(node.id), [onSelect]);
  const onPaneClick = useCallback(() => onSelect(undefined), [onSelect]);

  return (
    <div ref={box} className="flow-canvas-box">
      {initial && (
        <HandlesContext.Provider value={!large}>
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
            onlyRenderVisibleElements={large}
            onNodeClick={onNodeClick}
            onPaneClick={onPaneClick}
          >
            {large && <EdgeLayer layout={layout} nodes={nodes} />}
            <Background gap={20} size={1} />
            <Controls showInteractive={false} />
            {/* The view's outline stays visible in the minimap even when it is a few pixels of a huge flow. */}
            <MiniMap pannable zoomable nodeColor={minimapColor} maskStrokeColor="var(--accent)" maskStrokeWidth={2} />
          </ReactFlow>
        </HandlesContext.Provider>
      )}
    </div>
  );
}
