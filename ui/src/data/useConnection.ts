// Server reachability and version (GET api/health every few seconds) and how updates arrive:
// "live" while the WebSocket feed is connected, "polling" while only the REST API answers.
import { api } from "../api/client";
import type { Health } from "../api/types";
import type { Topic } from "./liveClient";
import { useLiveFeed } from "./useLiveFeed";
import { usePolled } from "./usePolled";

export type ConnectionMode = "live" | "polling" | "offline" | "connecting";

export interface Connection {
  mode: ConnectionMode;
  health: Health | undefined;
}

const HEALTH_INTERVAL_MS = 5000;

export function useConnection(topic: Topic): Connection {
  const { data, error, loading } = usePolled("health", api.health, HEALTH_INTERVAL_MS);
  const live = useLiveFeed(topic);
  const mode: ConnectionMode = error ? "offline" : loading && !data ? "connecting" : live ? "live" : "polling";
  return { mode, health: error ? undefined : data };
}
