// Server reachability and version, from GET api/health every few seconds.
// "live" is reserved for when the WebSocket feed is connected; until then data arrives by polling.
import { api } from "../api/client";
import type { Health } from "../api/types";
import { usePolled } from "./usePolled";

export type ConnectionMode = "live" | "polling" | "offline" | "connecting";

export interface Connection {
  mode: ConnectionMode;
  health: Health | undefined;
}

const HEALTH_INTERVAL_MS = 5000;

export function useConnection(): Connection {
  const { data, error, loading } = usePolled("health", api.health, HEALTH_INTERVAL_MS);
  const mode: ConnectionMode = error ? "offline" : loading && !data ? "connecting" : "polling";
  return { mode, health: error ? undefined : data };
}
