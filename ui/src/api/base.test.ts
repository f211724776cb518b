import { describe, expect, it } from "vitest";
import { apiBase, apiUrl, wsUrl } from "./base";

describe("apiBase", () => {
  it("uses the directory the page was loaded from", () => {
    expect(apiBase("/stemtrace/")).toBe("/stemtrace/api/");
    expect(apiBase("/stemtrace/index.html")).toBe("/stemtrace/api/");
    expect(apiBase("/")).toBe("/api/");
    expect(apiBase("/a/b/c/")).toBe("/a/b/c/api/");
  });

  it("falls back to the root for an empty path", () => {
    expect(apiBase("")).toBe("/api/");
  });
});

describe("apiUrl", () => {
  it("joins the route and drops empty parameters", () => {
    expect(apiUrl("tasks", { limit: 50, name: "", state: null, compact: 1 }, "/stemtrace/")).toBe(
      "/stemtrace/api/tasks?limit=50&compact=1",
    );
  });

  it("encodes parameter values and tolerates a leading slash", () => {
    expect(apiUrl("/tasks", { search: "a b&c" }, "/x/")).toBe("/x/api/tasks?search=a+b%26c");
  });

  it("defaults to the current page location", () => {
    expect(apiUrl("health")).toBe(apiBase(window.location.pathname) + "health");
  });
});

describe("wsUrl", () => {
  it("sits beside the API, with the page's scheme", () => {
    expect(wsUrl({ protocol: "https:", host: "h:8443", pathname: "/stemtrace/" })).toBe("wss://h:8443/stemtrace/ws");
    expect(wsUrl({ protocol: "http:", host: "localhost", pathname: "/index.html" })).toBe("ws://localhost/ws");
  });
});
