import { describe, expect, it } from "vitest";
import type { FlowSummary } from "../api/types";
import { filtersLocally, flowApiParams, flowFiltersFromQuery, flowFiltersToQuery, flowMatches } from "./listFilters";

const flow = (name: string | null, state: FlowSummary["state"], flowState?: FlowSummary["flow_state"]) =>
  ({ task_id: "r", name, state, flow_state: flowState }) as FlowSummary;

describe("flow list filters", () => {
  it("round-trips the URL in a canonical form", () => {
    const filters = flowFiltersFromQuery(new URLSearchParams("state=failure,STARTED,BOGUS&name=%20Add%20&within=6h&offset=50"));
    expect(filters).toEqual({ states: ["STARTED", "FAILURE"], name: "Add", within: "6h", offset: 50 });
    expect(flowFiltersToQuery(filters).toString()).toBe("state=STARTED%2CFAILURE&name=Add&within=6h&offset=50");
    expect(flowFiltersToQuery(flowFiltersFromQuery(new URLSearchParams("within=3y&offset=-1"))).toString()).toBe("");
  });

  it("sends the time window and paging to the API, not state or name", () => {
    const filters = flowFiltersFromQuery(new URLSearchParams("state=FAILURE&name=add&within=1h&offset=50"));
    expect(flowApiParams(filters)).toEqual({ limit: 50, offset: 50, within: "1h" });
    expect(flowApiParams(flowFiltersFromQuery(new URLSearchParams()))).toEqual({ limit: 50, offset: 0, within: undefined });
    expect(filtersLocally(filters)).toBe(true);
    expect(filtersLocally(flowFiltersFromQuery(new URLSearchParams("within=1h")))).toBe(false);
  });

  it("matches the state of the whole flow and a substring of the root's name in any case", () => {
    const filters = flowFiltersFromQuery(new URLSearchParams("state=FAILURE&name=ADD"));
    expect(flowMatches(flow("tasks.add", "SUCCESS", "FAILURE"), filters)).toBe(true);
    expect(flowMatches(flow("tasks.add", "FAILURE", "SUCCESS"), filters)).toBe(false);
    expect(flowMatches(flow("tasks.mul", "FAILURE"), filters)).toBe(false);
    expect(flowMatches(flow(null, "FAILURE"), flowFiltersFromQuery(new URLSearchParams("state=FAILURE")))).toBe(true);
    expect(flowMatches(flow(null, "FAILURE"), flowFiltersFromQuery(new URLSearchParams("name=x")))).toBe(false);
  });
});
