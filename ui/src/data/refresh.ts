// A tiny signal that tells every mounted view to fetch again now. Polling timers, the manual refresh
// button and the WebSocket feed all push through here, so views do not care where updates come from.
type Listener = () => void;
const listeners = new Set<Listener>();
let live = false;

export function onRefresh(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function requestRefresh(): void {
  for (const listener of [...listeners]) listener();
}

/** Whether the WebSocket feed is connected: views then poll only as a slow safety net. */
export function setLive(connected: boolean): void {
  live = connected;
}

export function isLive(): boolean {
  return live;
}

/** How often lists, details and flows poll while no live feed is connected. */
export const REFRESH_MS = 2000;
/** How often they still poll while it is (an update the feed missed shows up at the latest after this). */
export const LIVE_REFRESH_MS = 15_000;
