import { describe, expect, it } from "vitest";
import { describeConnection } from "./Header";

describe("describeConnection", () => {
  it("says why the broker is disconnected", () => {
    const health = {
      status: "degraded" as const,
      version: "0.5.0",
      consumer_connected: false,
      last_error: "invalid peer certificate: UnknownIssuer",
    };
    expect(describeConnection({ mode: "live", health })).toBe(
      "Server degraded, broker disconnected (invalid peer certificate: UnknownIssuer). " +
        "Live updates over the WebSocket. Click to refresh now.",
    );
  });

  it("keeps a reason that is no longer current out of a connected broker's text", () => {
    const health = { status: "ok" as const, version: "0.5.0", consumer_connected: true, last_error: "old" };
    expect(describeConnection({ mode: "polling", health })).toBe(
      "Server ok, broker connected. WebSocket down: updates every 2 s. Click to refresh now.",
    );
  });

  it("has no broker to describe before the server answers", () => {
    expect(describeConnection({ mode: "offline", health: undefined })).toBe("The server does not answer. Retrying…");
    expect(describeConnection({ mode: "connecting", health: undefined })).toBe("Connecting to the server…");
  });
});
