// The current hash location as React state, plus a way to change its query without a history entry.
import { useCallback, useSyncExternalStore } from "react";
import { hrefFor, parseHash, type Location } from "./route";

const CHANGE = "stemtrace:location";

function subscribe(callback: () => void): () => void {
  window.addEventListener("hashchange", callback);
  window.addEventListener(CHANGE, callback);
  return () => {
    window.removeEventListener("hashchange", callback);
    window.removeEventListener(CHANGE, callback);
  };
}

const getHash = () => window.location.hash;

export function useLocation(): Location & { replaceQuery: (query: URLSearchParams) => void } {
  const hash = useSyncExternalStore(subscribe, getHash);
  const location = parseHash(hash);
  const replaceQuery = useCallback((query: URLSearchParams) => {
    const path = window.location.hash.replace(/^#/, "").split("?")[0] || "/overview";
    window.history.replaceState(window.history.state, "", hrefFor(path, query));
    window.dispatchEvent(new Event(CHANGE));
  }, []);
  return { ...location, replaceQuery };
}
