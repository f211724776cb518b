// The client side of the stemtrace.v1 WebSocket protocol (see docs/ui.md): subscribe to a topic, turn
// batches and resyncs into throttled "something changed" calls, reconnect with backoff. No React here,
// and the socket factory and timers are injected, so the logic is unit-tested without a network.

export const PROTOCOL = "stemtrace.v1";

export type Topic = { topic: "tasks" } | { topic: "flow"; id: string };

/** The part of the browser WebSocket this client uses. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface LiveClientOptions {
  connect: () => SocketLike;
  /** Called at most once per `throttleMs` however many changes arrive. */
  onChange: () => void;
  onStatus: (connected: boolean) => void;
  throttleMs?: number;
  pingMs?: number;
  now?: () => number;
}

const OPEN = 1;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

export class LiveClient {
  private socket: SocketLike | undefined;
  private topic: Topic = { topic: "tasks" };
  private seq: number | undefined;
  private backoff = FIRST_BACKOFF_MS;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private changeTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastChange = Number.NEGATIVE_INFINITY;
  private readonly throttleMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LiveClientOptions) {
    this.throttleMs = options.throttleMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.changeTimer);
    clearInterval(this.pingTimer);
    this.changeTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.close();
      this.options.onStatus(false);
    }
  }

  /** Follow another topic; sent at once when connected, else on the next connection. */
  subscribe(topic: Topic): void {
    if (sameTopic(topic, this.topic)) return;
    this.topic = topic;
    this.seq = undefined;
    if (this.socket?.readyState === OPEN) this.sendSubscribe();
  }

  private open(): void {
    const socket = this.options.connect();
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = FIRST_BACKOFF_MS;
      this.options.onStatus(true);
      this.sendSubscribe();
      this.changed(); // whatever happened while we were away
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), this.options.pingMs ?? 25_000);
    };
    socket.onmessage = (event) => this.handle(event.data);
    socket.onclose = () => {
      clearInterval(this.pingTimer);
      this.socket = undefined;
      this.options.onStatus(false);
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => this.open(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    };
  }

  private sendSubscribe(): void {
    const message: Record<string, unknown> = { type: "subscribe", ...this.topic };
    if (this.seq !== undefined) message.since = this.seq;
    this.send(message);
  }

  private send(message: object): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  /** One frame from the server. Anything that is not protocol bookkeeping counts as a change. */
  handle(data: unknown): void {
    let message: { type?: unknown; topic?: unknown; id?: unknown; seq?: unknown } | undefined;
    try {
      message = typeof data === "string" ? JSON.parse(data) : undefined;
    } catch {
      message = undefined;
    }
    const type = message?.type;
    if (type === "pong" || type === "error") return;
    if (message && typeof message.seq === "number" && this.isCurrent(message)) this.seq = message.seq;
    if (type === "subscribed") return;
    if ((type === "batch" || type === "resync") && !this.isCurrent(message!)) return; // an old subscription
    this.changed();
  }

  private isCurrent(message: { topic?: unknown; id?: unknown }): boolean {
    if (message.topic !== this.topic.topic) return false;
    return this.topic.topic !== "flow" || message.id === undefined || message.id === this.topic.id;
  }

  /** Leading and trailing throttle: the first change fires at once, a burst fires once more at its end. */
  private changed(): void {
    if (this.changeTimer !== undefined) return;
    const wait = this.lastChange + this.throttleMs - this.now();
    const fire = () => {
      this.changeTimer = undefined;
      this.lastChange = this.now();
      this.options.onChange();
    };
    if (wait <= 0) fire();
    else this.changeTimer = setTimeout(fire, wait);
  }
}

function sameTopic(a: Topic, b: Topic): boolean {
  return a.topic === b.topic && (a.topic !== "flow" || (b.topic === "flow" && a.id === b.id));
}
