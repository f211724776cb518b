import { describe, expect, it } from "vitest";
import { benchFlow, chain, container, graph, task } from "../test/graphs";
import { layoutFlow, type FlowLayout } from "./layout";
import { initialViewport, READING_ZOOM, TEXT_MIN_ZOOM } from "./viewport";

const [WIDTH, HEIGHT] = [1400, 700];

/** A top-level node's box on screen under `viewport`. */
function onScreen(layout: FlowLayout, id: string, viewport: { x: number; y: number; zoom: number }) {
  const node = layout.nodes.find((n) => n.id === id)!;
  const { x, y, zoom } = viewport;
  return { left: x + node.x * zoom, top: y + node.y * zoom, right: x + (node.x + node.width) * zoom, bottom: y + (node.y + node.height) * zoom };
}

const within = (box: ReturnType<typeof onScreen>) => box.left >= 0 && box.top >= 0 && box.right <= WIDTH && box.bottom <= HEIGHT;

describe("initialViewport", () => {
  it("shows a flow that is legible fitted whole", () => {
    const layout = layoutFlow(graph(...chain("s", 6)));
    const viewport = initialViewport(layout, WIDTH, HEIGHT);
    expect(viewport.zoom).toBeGreaterThanOrEqual(TEXT_MIN_ZOOM);
    for (const node of layout.nodes) expect(within(onScreen(layout, node.id, viewport))).toBe(true);
  });

  it("opens a flow too large to read whole on its root at reading zoom", () => {
    const layout = layoutFlow(benchFlow());
    const viewport = initialViewport(layout, WIDTH, HEIGHT);
    expect(viewport.zoom).toBe(READING_ZOOM);
    const root = onScreen(layout, "root", viewport);
    expect(within(root)).toBe(true);
    expect(root.left).toBeLessThan(50); // the first column, at the left
    expect(Math.abs((root.top + root.bottom) / 2 - HEIGHT / 2)).toBeLessThan(1); // centred vertically
  });

  it("opens on the top-left corner of a first node taller than the canvas", () => {
    const members = Array.from({ length: 1500 }, (_, i) => `m${i}`);
    const layout = layoutFlow(graph(container("group:g", "GROUP", members), ...members.map((id) => task(id))));
    const viewport = initialViewport(layout, WIDTH, HEIGHT);
    expect(viewport.zoom).toBe(READING_ZOOM);
    const box = onScreen(layout, "group:g", viewport);
    expect(box.bottom - box.top).toBeGreaterThan(HEIGHT);
    expect([box.left, box.top]).toEqual([24, 24]);
  });
});
