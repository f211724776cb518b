import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveClient, type SocketLike } from "./liveClient";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: unknown) {
    this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const onChange = vi.fn();
  const onStatus = vi.fn();
  const client = new LiveClient({
    connect: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    onChange,
    onStatus,
    throttleMs: 1000,
    now: () => Date.now(),
  });
  return { client, sockets, onChange, onStatus };
}

describe("LiveClient", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("subscribes to tasks on open and reports the connection", () => {
    const { client, sockets, onStatus, onChange } = setup();
    client.start();
    sockets[0]!.open();
    expect(sockets[0]!.sent).toEqual([{ type: "subscribe", topic: "tasks" }]);
    expect(onStatus).toHaveBeenLastCalledWith(true);
    expect(onChange).toHaveBeenCalledTimes(1); // catch up with what happened before
    client.stop();
    expect(sockets[0]!.closed).toBe(true);
    expect(onStatus).toHaveBeenLastCalledWith(false);
  });

  it("switches topic on an open socket", () => {
    const { client, sockets } = setup();
    client.start();
    sockets[0]!.open();
    client.subscribe({ topic: "flow", id: "root-1" });
    client.subscribe({ topic: "flow", id: "root-1" }); // same topic: nothing sent
    expect(sockets[0]!.sent).toEqual([
      { type: "subscribe", topic: "tasks" },
      { type: "subscribe", topic: "flow", id: "root-1" },
    ]);
  });

  it("throttles a burst of batches to one change now and one at the end", () => {
    const { client, sockets, onChange } = setup();
    client.start();
    sockets[0]!.open();
    vi.advanceTimersByTime(5000);
    onChange.mockClear();
    for (let i = 0; i < 5000; i++) sockets[0]!.receive({ type: "batch", topic: "tasks", seq: i, changes: [] });
    expect(onChange).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(999);
    expect(onChange).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(onChange).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(10_000);
    expect(onChange).toHaveBeenCalledTimes(2);
  });

  it("treats resync and legacy frames as changes, bookkeeping frames not", () => {
    const { client, sockets, onChange } = setup();
    client.start();
    sockets[0]!.open();
    vi.advanceTimersByTime(5000);
    onChange.mockClear();
    const socket = sockets[0]!;
    socket.receive({ type: "subscribed", topic: "tasks", id: null, seq: 7 });
    socket.receive({ type: "pong" });
    socket.receive({ type: "error", detail: "x" });
    expect(onChange).not.toHaveBeenCalled();
    socket.receive({ type: "resync", topic: "tasks", seq: 9 });
    expect(onChange).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5000);
    socket.receive({ task_id: "a", name: "t", state: "SUCCESS", timestamp: "2024-01-01T00:00:00Z" });
    expect(onChange).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5000);
    socket.receive("not json");
    expect(onChange).toHaveBeenCalledTimes(3);
  });

  it("ignores batches of a topic it left", () => {
    const { client, sockets, onChange } = setup();
    client.start();
    sockets[0]!.open();
    client.subscribe({ topic: "flow", id: "r" });
    vi.advanceTimersByTime(5000);
    onChange.mockClear();
    sockets[0]!.receive({ type: "batch", topic: "tasks", seq: 3, changes: [] });
    expect(onChange).not.toHaveBeenCalled();
  });

  it("reconnects with backoff and resumes from the last sequence number", () => {
    const { client, sockets, onStatus } = setup();
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive({ type: "batch", topic: "tasks", seq: 42, changes: [] });
    sockets[0]!.drop();
    expect(onStatus).toHaveBeenLastCalledWith(false);
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.drop(); // never opened: the next try waits twice as long
    vi.advanceTimersByTime(1999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    sockets[2]!.open();
    expect(sockets[2]!.sent).toEqual([{ type: "subscribe", topic: "tasks", since: 42 }]);
  });

  it("pings while connected", () => {
    const { client, sockets } = setup();
    client.start();
    sockets[0]!.open();
    vi.advanceTimersByTime(25_000);
    expect(sockets[0]!.sent).toContainEqual({ type: "ping" });
    client.stop();
  });
});
