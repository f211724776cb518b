// Where the flow canvas opens: the whole flow when it is legible fitted, else its start at reading zoom.
import { getViewportForBounds, type Viewport } from "@xyflow/react";
import { layoutBounds, type FlowLayout } from "./layout";

/** Below this zoom a card's text is a few pixels high: cards are drawn as plain state-coloured boxes. */
export const TEXT_MIN_ZOOM = 0.35;
/** The zoom a flow too large to read whole opens at: card names about 10 px high. */
export const READING_ZOOM = 0.75;
/** Fit options of the canvas: the opening view of a small flow and the controls' fit button. */
export const FIT = { padding: 0.15, minZoom: 0.01, maxZoom: 1.2 };
/** Screen pixels between the canvas edge and the first column when a large flow opens on it. */
const MARGIN = 24;

/**
 * The opening viewport of a `width` × `height` canvas. A flow that fits with its text legible is shown
 * whole. A larger one would be thousands of unreadable specks, all of them drawn: it opens at reading
 * zoom on its first node (the root; the leftmost top-level node), vertically centred on it, or on its
 * top edge when taller than the canvas. The minimap shows the whole flow and where the view is.
 */
export function initialViewport(layout: FlowLayout, width: number, height: number): Viewport {
  const fitted = getViewportForBounds(layoutBounds(layout), width, height, FIT.minZoom, FIT.maxZoom, FIT.padding);
  if (fitted.zoom >= TEXT_MIN_ZOOM) return fitted;
  const first = layout.nodes
    .filter((node) => node.parentId === undefined)
    .reduce((best, node) => (node.x < best.x || (node.x === best.x && node.y < best.y) ? node : best));
  const zoom = READING_ZOOM;
  const fitsTall = first.height * zoom <= height - 2 * MARGIN;
  return {
    x: MARGIN - first.x * zoom,
    y: fitsTall ? height / 2 - (first.y + first.height / 2) * zoom : MARGIN - first.y * zoom,
    zoom,
  };
}
