import { describe, expect, it } from "vitest";
import { MAX_OFFSET, pagesFor, reachable, rowWindow } from "./windowing";

describe("rowWindow", () => {
  it("draws the visible rows plus the overscan, at their own offset", () => {
    // 400 px viewport of 40 px rows scrolled to row 100
    expect(rowWindow(1000, 4000, 400, 40, 5)).toEqual({ scrollHeight: 40_000, first: 95, last: 115, top: 3800 });
  });

  it("clips the window at both ends of the list", () => {
    expect(rowWindow(1000, 0, 400, 40, 5)).toEqual({ scrollHeight: 40_000, first: 0, last: 15, top: 0 });
    // scrolled past the end (an elastic scroll or a shrunk list) stays at the last rows
    expect(rowWindow(1000, 1e9, 400, 40, 5)).toMatchObject({ first: 985, last: 1000, top: 39_400 });
    expect(rowWindow(3, 0, 400, 40, 5)).toEqual({ scrollHeight: 120, first: 0, last: 3, top: 0 });
    expect(rowWindow(0, 0, 400)).toEqual({ scrollHeight: 0, first: 0, last: 0, top: 0 });
  });

  it("keeps the DOM small at a million rows and scales a scroll area browsers cannot make that tall", () => {
    const total = 1_000_000;
    const top = rowWindow(total, 0, 800, 40, 8, 10_000_000);
    expect(top.scrollHeight).toBe(10_000_000);
    expect(top.last - top.first).toBeLessThanOrEqual(800 / 40 + 8 + 1);
    // halfway down the bar is halfway down the list
    const middle = rowWindow(total, (10_000_000 - 800) / 2, 800, 40, 8, 10_000_000);
    expect(middle.first + 8).toBe(Math.floor((total * 40 - 800) / 2 / 40));
    expect(middle.last - middle.first).toBeLessThanOrEqual(800 / 40 + 2 * 8 + 1);
    // the first visible row is drawn at the viewport's top, whatever the scale
    const at = (10_000_000 - 800) / 2;
    const offsetInRow = middle.top + 8 * 40 - at;
    expect(offsetInRow).toBeLessThanOrEqual(0);
    expect(offsetInRow).toBeGreaterThan(-40);
    // the bottom of the bar shows the last row at the bottom of the viewport
    const bottom = rowWindow(total, 10_000_000, 800, 40, 8, 10_000_000);
    expect(bottom.last).toBe(total);
    expect(bottom.top + (bottom.last - bottom.first) * 40).toBe(10_000_000);
  });
});

describe("pagesFor", () => {
  it("lists the pages that hold a window of rows", () => {
    expect(pagesFor(0, 15, 100)).toEqual([0]);
    expect(pagesFor(95, 115, 100)).toEqual([0, 1]);
    expect(pagesFor(250, 250, 100)).toEqual([]);
    expect(pagesFor(199, 401, 100)).toEqual([1, 2, 3, 4]);
  });

  it("stops at the API's largest offset", () => {
    expect(pagesFor(MAX_OFFSET - 150, MAX_OFFSET + 300, 100).every((p) => p * 100 <= MAX_OFFSET)).toBe(true);
    expect(pagesFor(MAX_OFFSET + 100, MAX_OFFSET + 300, 100)).toEqual([]);
    expect(reachable(MAX_OFFSET, 100)).toBe(true);
    expect(reachable(MAX_OFFSET + 100, 100)).toBe(false);
  });
});
