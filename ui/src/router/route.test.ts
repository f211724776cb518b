import { describe, expect, it } from "vitest";
import { links, parseHash } from "./route";

describe("parseHash", () => {
  it("defaults to the overview", () => {
    expect(parseHash("").route).toEqual({ page: "overview" });
    expect(parseHash("#/").route).toEqual({ page: "overview" });
  });

  it.each([
    ["#/tasks", { page: "tasks" }],
    ["#/tasks/abc-123", { page: "task", id: "abc-123" }],
    ["#/flows", { page: "flows" }],
    ["#/flows/root-1", { page: "flow", id: "root-1" }],
    ["#/workers", { page: "workers" }],
    ["#/overview", { page: "overview" }],
    ["#/registry", { page: "registry" }],
    ["#/registry/x", { page: "notFound" }],
    ["#/nope", { page: "notFound" }],
    ["#/tasks/a/b", { page: "notFound" }],
    ["#/workers/x", { page: "notFound" }],
  ])("%s", (hash, route) => {
    expect(parseHash(hash).route).toEqual(route);
  });

  it("separates the query", () => {
    const { route, query } = parseHash("#/tasks?state=SUCCESS,FAILURE&name=add");
    expect(route).toEqual({ page: "tasks" });
    expect(query.get("state")).toBe("SUCCESS,FAILURE");
    expect(query.get("name")).toBe("add");
  });

  it("round-trips ids with special characters", () => {
    const id = "group:a/b?c#d";
    expect(parseHash(links.task(id)).route).toEqual({ page: "task", id });
    expect(parseHash(links.flow(id)).route).toEqual({ page: "flow", id });
  });
});

describe("links", () => {
  it("omits an empty query", () => {
    expect(links.tasks(new URLSearchParams())).toBe("#/tasks");
    expect(links.tasks(new URLSearchParams({ name: "x" }))).toBe("#/tasks?name=x");
    expect(links.workers()).toBe("#/workers");
  });
});
