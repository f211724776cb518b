// The WebSocket feed at {prefix}/ws (protocol stemtrace.v1, see liveClient.ts): list pages follow the
// "tasks" topic, a flow page its flow. A batch or resync asks every mounted view to fetch again, at most
// once a second; while the feed is down, views poll (usePolled). Returns whether the feed is connected.
import { useEffect, useRef, useState } from "react";
import { wsUrl } from "../api/base";
import { LiveClient, PROTOCOL, type SocketLike, type Topic } from "./liveClient";
import { requestRefresh, setLive } from "./refresh";

export function useLiveFeed(topic: Topic): boolean {
  const [connected, setConnected] = useState(false);
  const client = useRef<LiveClient | undefined>(undefined);

  useEffect(() => {
    if (typeof WebSocket === "undefined") return;
    const live = new LiveClient({
      connect: () => new WebSocket(wsUrl(), PROTOCOL) as unknown as SocketLike,
      onChange: requestRefresh,
      onStatus: (isConnected) => {
        setLive(isConnected);
        setConnected(isConnected);
      },
    });
    client.current = live;
    live.start();
    return () => {
      live.stop();
      client.current = undefined;
    };
  }, []);

  const topicKey = topic.topic === "flow" ? `flow:${topic.id}` : "tasks";
  useEffect(() => {
    client.current?.subscribe(topic); // keyed on topicKey: the object itself is new on every render
  }, [topicKey]);

  return connected;
}
