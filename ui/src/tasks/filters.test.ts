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

  it("trims text", () => {
    expect(filtersFromQuery(new URLSearchParams("name=%20add%20")).name).toBe("add");
  });

  it("parses a shared URL query", () => {
    // an offset from a link of the old paged list is ignored: the list scrolls
    const filters = filtersFromQuery(new URLSearchParams("state=STARTED&queue=q1&offset=50"));
    expect(filters).toEqual({ ...emptyFilters, states: ["STARTED"], queue: "q1" });
  });
});

describe("filtersToApiParams", () => {
  it("maps filters onto the API parameters", () => {
    expect(filtersToApiParams(full)).toEqual({
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

  it("sends only compact for no filters", () => {
    expect(filtersToApiParams(emptyFilters)).toEqual({ compact: 1 });
  });
});

describe("hasFilters", () => {
  it("is true for any filter", () => {
    expect(hasFilters(emptyFilters)).toBe(false);
    expect(hasFilters({ ...emptyFilters, queue: "q" })).toBe(true);
    expect(hasFilters({ ...emptyFilters, states: ["SUCCESS"] })).toBe(true);
  });
});
