// Fetch now, then every `intervalMs` while the tab is visible (every LIVE_REFRESH_MS at most while the
// live feed is connected and pushes refreshes), on coming back to the tab, and on every requestRefresh().
// When `key` changes the previous data stays visible (with `loading` set) until the new answer arrives.
import { useEffect, useRef, useState } from "react";
import { isLive, LIVE_REFRESH_MS, onRefresh } from "./refresh";

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  /** True until the first answer for the current key. */
  loading: boolean;
}

export function usePolled<T>(key: string, fetcher: (signal: AbortSignal) => Promise<T>, intervalMs: number): Polled<T> {
  const [state, setState] = useState<{ key: string | undefined; data: T | undefined; error: Error | undefined }>({
    key: undefined,
    data: undefined,
    error: undefined,
  });
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;

  useEffect(() => {
    let controller: AbortController | undefined;
    let stopped = false;
    let lastLoad = 0;

    const load = () => {
      if (controller) return; // one request at a time
      lastLoad = Date.now();
      const current = new AbortController();
      controller = current;
      fetcherRef
        .current(current.signal)
        .then(
          (data) => {
            if (!stopped) setState({ key, data, error: undefined });
          },
          (error: unknown) => {
            if (stopped || current.signal.aborted) return;
            const err = error instanceof Error ? error : new Error(String(error));
            setState((s) => ({ key, data: s.key === key ? s.data : undefined, error: err }));
          },
        )
        .finally(() => {
          if (controller === current) controller = undefined;
        });
    };

    load();
    const timer = window.setInterval(() => {
      if (document.visibilityState === "hidden") return;
      if (isLive() && Date.now() - lastLoad < Math.max(intervalMs, LIVE_REFRESH_MS)) return;
      load();
    }, intervalMs);
    const onVisible = () => {
      if (document.visibilityState === "visible") load();
    };
    document.addEventListener("visibilitychange", onVisible);
    const unsubscribe = onRefresh(load);
    return () => {
      stopped = true;
      controller?.abort();
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
      unsubscribe();
    };
  }, [key, intervalMs]);

  return { data: state.data, error: state.error, loading: state.key !== key };
}
