// The WebSocket feed at {prefix}/ws. Any update frame triggers a (throttled) refresh of the mounted
// views, so changes show up at once instead of at the next poll; polling goes on as the safety net.
// Reconnects with backoff; returns whether the feed is connected.
import { useEffect, useState } from "react";
import { wsUrl } from "../api/base";
import { requestRefresh } from "./refresh";

const REFRESH_THROTTLE_MS = 300;
const MAX_BACKOFF_MS = 30_000;

export function useLiveFeed(): boolean {
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    if (typeof WebSocket === "undefined") return;
    let socket: WebSocket | undefined;
    let retry: number | undefined;
    let throttle: number | undefined;
    let backoff = 1000;
    let stopped = false;

    const connect = () => {
      socket = new WebSocket(wsUrl());
      socket.onopen = () => {
        backoff = 1000;
        setConnected(true);
      };
      socket.onmessage = () => {
        if (throttle !== undefined) return;
        throttle = window.setTimeout(() => {
          throttle = undefined;
          requestRefresh();
        }, REFRESH_THROTTLE_MS);
      };
      socket.onclose = () => {
        setConnected(false);
        if (stopped) return;
        retry = window.setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      };
    };

    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      window.clearTimeout(throttle);
      socket?.close();
    };
  }, []);

  return connected;
}
