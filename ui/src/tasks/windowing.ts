// Windowing maths for the task list: which rows of a list of `total` fixed-height rows are drawn for a
// scroll position, and which pages of the API hold them. Only those rows are in the DOM.

/** Height of one row in px (the CSS of `.vrow` uses the same). */
export const ROW_HEIGHT = 40;
/** Rows drawn above and below the visible ones, so a short scroll shows rows already there. */
export const OVERSCAN = 8;
/** Rows per GET api/tasks request (the API allows up to 500). */
export const PAGE_ROWS = 100;
/** The largest offset GET api/tasks accepts (MAX_OFFSET in stemtrace/server/routes.py). */
export const MAX_OFFSET = 2 ** 31 - 1;
/**
 * Browsers cap an element's height (Firefox near 17.9 million px, Chromium 33.5 million), below
 * 1,000,000 rows × ROW_HEIGHT. A taller list gets a scroll area this high, mapped proportionally.
 */
export const MAX_SCROLL_PX = 10_000_000;

export interface RowWindow {
  /** Height of the scroll area in px. */
  scrollHeight: number;
  /** First row drawn (inclusive) and last (exclusive). */
  first: number;
  last: number;
  /** Where, in px from the top of the scroll area, row `first` is drawn. */
  top: number;
}

export function rowWindow(
  total: number,
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number = ROW_HEIGHT,
  overscan: number = OVERSCAN,
  maxScrollPx: number = MAX_SCROLL_PX,
): RowWindow {
  const content = Math.max(0, total) * rowHeight;
  const scrollHeight = Math.min(content, maxScrollPx);
  const room = Math.max(0, scrollHeight - viewportHeight);
  const at = Math.min(Math.max(scrollTop, 0), room);
  // Where the viewport's top is in the full content (the same as `at` unless the area is scaled down).
  const contentTop = room > 0 ? (at * Math.max(0, content - viewportHeight)) / room : 0;
  const first = Math.max(0, Math.floor(contentTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((contentTop + viewportHeight) / rowHeight) + overscan);
  return { scrollHeight, first, last: Math.max(first, last), top: at + first * rowHeight - contentTop };
}

/** Indexes of the pages of `pageRows` rows that hold rows first..last-1 and that the API can serve. */
export function pagesFor(first: number, last: number, pageRows: number = PAGE_ROWS, maxOffset: number = MAX_OFFSET): number[] {
  const pages: number[] = [];
  for (let page = Math.floor(first / pageRows); page * pageRows < last && first < last; page++) {
    if (page * pageRows > maxOffset) break;
    pages.push(page);
  }
  return pages;
}

/** Whether the API can return row `index` (a page can start at MAX_OFFSET at most). */
export function reachable(index: number, pageRows: number = PAGE_ROWS, maxOffset: number = MAX_OFFSET): boolean {
  return Math.floor(index / pageRows) * pageRows <= maxOffset;
}
