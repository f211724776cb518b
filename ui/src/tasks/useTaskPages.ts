// The rows of the scrolling task list, fetched a page at a time as they come into view.
//
// The first page is polled like any view (live feed, timers). While the user is at the top of the list,
// each new answer becomes the list (its total sizes the scroll area) and the other pages are fetched
// again as they come into view. While the user is scrolled down the list does not change under them:
// a newer answer only marks it `stale` until they are back at the top.
import { useEffect, useRef, useState } from "react";
import type { QueryValue } from "../api/base";
import { api } from "../api/client";
import type { TaskList, TaskNode } from "../api/types";
import { REFRESH_MS } from "../data/refresh";
import { usePolled } from "../data/usePolled";
import { PAGE_ROWS, pagesFor, reachable, ROW_HEIGHT, rowWindow, type RowWindow } from "./windowing";

/** Wait this long after the window moves before fetching: a fast drag does not request every page it passes. */
const FETCH_DELAY_MS = 80;
/** Pages kept beyond the window on each side; farther ones are dropped to bound memory at any list size. */
const KEEP_PAGES = 10;

/** A row: its task, or why there is none yet. */
export type Row = TaskNode | "loading" | "missing" | "beyond";

interface Shown {
  key: string;
  head: TaskList;
  pages: Map<number, TaskNode[]>;
}

export interface TaskPages {
  /** Rows in the list as shown (undefined before the first answer). */
  total: number | undefined;
  /** The rows to draw for the scroll position. */
  window: RowWindow;
  row: (index: number) => Row;
  error: Error | undefined;
  /** True until the first answer for these filters. */
  loading: boolean;
  /** A newer first page is waiting for the user to scroll back to the top. */
  stale: boolean;
}

const sameHead = (a: TaskList, b: TaskList) =>
  a.total === b.total &&
  a.tasks.length === b.tasks.length &&
  a.tasks.every((t, i) => t.task_id === b.tasks[i]!.task_id && t.state === b.tasks[i]!.state && t.last_updated === b.tasks[i]!.last_updated);

/** Near the top the list follows live updates; farther down it holds still. */
export function useTaskPages(params: Record<string, QueryValue>, scrollTop: number, viewportHeight: number): TaskPages {
  const key = JSON.stringify(params);
  const head = usePolled(key, (signal) => api.tasks({ ...params, limit: PAGE_ROWS, offset: 0 }, signal), REFRESH_MS);
  const latest = head.loading ? undefined : head.data;
  const [stored, setShown] = useState<Shown | undefined>();
  const shown = stored?.key === key ? stored : undefined;
  const [pageError, setPageError] = useState<Error | undefined>();
  const inflight = useRef(new Map<number, AbortController>());
  const following = scrollTop < ROW_HEIGHT / 2;
  const win = rowWindow(shown?.head.total ?? 0, scrollTop, viewportHeight);
  const { first, last } = win;
  const range = useRef({ first, last });
  range.current = { first, last };

  // Adopt a changed first page while following the top (or when nothing is shown yet).
  useEffect(() => {
    if (latest && latest !== shown?.head && (!shown || (following && !sameHead(latest, shown.head)))) {
      setShown({ key, head: latest, pages: new Map([[0, latest.tasks]]) });
    }
  }, [key, latest, following, shown]);

  // Requests for an older list are of no use to a new one.
  const shownHead = shown?.head;
  useEffect(() => {
    const requests = inflight.current;
    return () => {
      for (const controller of requests.values()) controller.abort();
      requests.clear();
    };
  }, [shownHead]);

  useEffect(() => {
    if (!shown) return;
    const timer = window.setTimeout(() => {
      const needed = pagesFor(first, last);
      for (const [page, controller] of inflight.current) {
        if (!needed.includes(page)) {
          controller.abort();
          inflight.current.delete(page);
        }
      }
      for (const page of needed) {
        if (shown.pages.has(page) || inflight.current.has(page)) continue;
        const controller = new AbortController();
        inflight.current.set(page, controller);
        api
          .tasks({ ...params, limit: PAGE_ROWS, offset: page * PAGE_ROWS }, controller.signal)
          .then(
            (list) => {
              setPageError(undefined);
              setShown((s) => (s && s.head === shown.head ? { ...s, pages: withPage(s.pages, page, list.tasks, range.current) } : s));
            },
            (error: unknown) => {
              if (!controller.signal.aborted) setPageError(error instanceof Error ? error : new Error(String(error)));
            },
          )
          .finally(() => {
            if (inflight.current.get(page) === controller) inflight.current.delete(page);
          });
      }
    }, FETCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [shown, first, last, key]); // `params` is fixed by `key`

  const row = (index: number): Row => {
    if (!reachable(index)) return "beyond";
    const page = shown?.pages.get(Math.floor(index / PAGE_ROWS));
    if (!page) return "loading";
    return page[index % PAGE_ROWS] ?? "missing";
  };

  return {
    total: shown?.head.total,
    window: win,
    row,
    error: head.error ?? pageError,
    loading: !shown,
    stale: Boolean(shown && latest && latest !== shown.head && !sameHead(latest, shown.head)),
  };
}

function withPage(pages: Map<number, TaskNode[]>, page: number, tasks: TaskNode[], range: { first: number; last: number }) {
  const low = Math.floor(range.first / PAGE_ROWS) - KEEP_PAGES;
  const high = Math.floor(range.last / PAGE_ROWS) + KEEP_PAGES;
  const next = new Map<number, TaskNode[]>();
  for (const [p, rows] of pages) if (p === 0 || (p >= low && p <= high)) next.set(p, rows);
  next.set(page, tasks);
  return next;
}
