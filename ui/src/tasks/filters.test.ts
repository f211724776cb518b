import { describe, expect, it } from "vitest";
import { emptyFilters, filtersFromQuery, filtersToApiParams, filtersToQuery, hasFilters, type TaskFilters } from "./filters";

const full: TaskFilters = {
  states: ["FAILURE", "RETRY"],
  name: "tasks.add",
  name_exact: "tasks.add",
  hostname: "celery@w1",
  queue: "default",
  exception_type: "ValueError",
  trace_id: "t-1",
  search: 'order "42" & more',
  within: "6h",
  offset: 100,
};

describe("task filters in the URL", () => {
  it("round-trips every filter", () => {
    const query = filtersToQuery(full);
    const back = filtersFromQuery(new URLSearchParams(query.toString()));
    expect(back).toEqual({ ...full, states: ["RETRY", "FAILURE"] });
  });

  it("round-trips the empty filter to an empty query", () => {
    expect(filtersToQuery(emptyFilters).toString()).toBe("");
    expect(filtersFromQuery(new URLSearchParams())).toEqual(emptyFilters);
  });

  it("writes states as one canonical comma list", () => {
    expect(filtersToQuery({ ...emptyFilters, states: ["SUCCESS", "PENDING"] }).get("state")).toBe("PENDING,SUCCESS");
  });

  it("accepts any case, drops unknown states and duplicates", () => {
    const filters = filtersFromQuery(new URLSearchParams("state=failure,BOGUS,FAILURE, success"));
    expect(filters.states).toEqual(["SUCCESS", "FAILURE"]);
  });

  it("keeps a known time window only, and passes it to the API", () => {
    expect(filtersFromQuery(new URLSearchParams("within=24h")).within).toBe("24h");
    expect(filtersFromQuery(new URLSearchParams("within=3y")).within).toBe("");
    const filters = { ...emptyFilters, within: "15m" as const };
    expect(hasFilters(filters)).toBe(true);
    expect(filtersToApiParams(filters).within).toBe("15m");
  });

  it("ignores a bad offset and trims text", () => {
    const filters = filtersFromQuery(new URLSearchParams("offset=-3&name=%20add%20"));
    expect(filters.offset).toBe(0);
    expect(filters.name).toBe("add");
    expect(filtersFromQuery(new URLSearchParams("offset=abc")).offset).toBe(0);
  });

  it("parses a shared URL query", () => {
    const filters = filtersFromQuery(new URLSearchParams("state=STARTED&queue=q1&offset=50"));
    expect(filters).toEqual({ ...emptyFilters, states: ["STARTED"], queue: "q1", offset: 50 });
  });
});

describe("filtersToApiParams", () => {
  it("maps filters onto the API parameters", () => {
    expect(filtersToApiParams(full, 25)).toEqual({
      limit: 25,
      offset: 100,
      compact: 1,
      state: "RETRY,FAILURE",
      name: "tasks.add",
      name_exact: "tasks.add",
      hostname: "celery@w1",
      queue: "default",
      exception_type: "ValueError",
      trace_id: "t-1",
      search: 'order "42" & more',
      within: "6h",
    });
  });

  it("sends only paging for no filters", () => {
    expect(filtersToApiParams(emptyFilters)).toEqual({ limit: 50, offset: 0, compact: 1 });
  });
});

describe("hasFilters", () => {
  it("ignores paging", () => {
    expect(hasFilters({ ...emptyFilters, offset: 50 })).toBe(false);
    expect(hasFilters({ ...emptyFilters, queue: "q" })).toBe(true);
    expect(hasFilters({ ...emptyFilters, states: ["SUCCESS"] })).toBe(true);
  });
});
