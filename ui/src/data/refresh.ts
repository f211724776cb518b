// A tiny signal that tells every mounted view to fetch again now. Polling timers, the manual refresh
// button and (later) the WebSocket feed all push through here, so views do not care where updates come from.
type Listener = () => void;
const listeners = new Set<Listener>();

export function onRefresh(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function requestRefresh(): void {
  for (const listener of [...listeners]) listener();
}

/** How often lists, details and flows poll while no live feed is connected. */
export const REFRESH_MS = 2000;
