// A large flow's edges, drawn under the nodes in flow coordinates (the viewport portal moves with pan
// and zoom): a few path elements in place of one xyflow edge component per edge.
import { ViewportPortal } from "@xyflow/react";
import { useMemo } from "react";
import type { GraphNode } from "../api/types";
import { edgeCurves, edgePaths, type EdgeStyle } from "./edgePaths";
import type { FlowLayout } from "./layout";

const STYLES: EdgeStyle[] = ["child", "callback", "running"];

export function EdgeLayer({ layout, nodes }: { layout: FlowLayout; nodes: Record<string, GraphNode> }) {
  const curves = useMemo(() => edgeCurves(layout), [layout]);
  const paths = useMemo(() => edgePaths(curves, nodes), [curves, nodes]);
  return (
    <ViewportPortal>
      <svg className="flow-edge-layer" data-testid="flow-edge-layer" data-edges={curves.length} aria-hidden="true">
        {STYLES.map((style) => paths[style] && <path key={style} className={`flow-edge-${style}`} d={paths[style]} />)}
      </svg>
    </ViewportPortal>
  );
}
