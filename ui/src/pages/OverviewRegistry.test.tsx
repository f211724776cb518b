import { afterEach, describe, expect, it, vi } from "vitest";
import { mockApi, render } from "../test/render";
import { OverviewPage } from "./OverviewPage";
import { RegistryPage } from "./RegistryPage";

afterEach(() => {
  vi.unstubAllGlobals();
});

const window = { start: "2024-01-01T00:00:00Z", end: "2024-01-01T01:00:00Z" };

describe("OverviewPage", () => {
  it("shows the figures, the chart, failures and the slowest flows for the window in the URL", async () => {
    const calls = mockApi({
      overview: {
        window,
        runs: { value: 120, baseline: 100 },
        failures: { value: 6, baseline: 0 },
        runs_per_minute: { value: 2, baseline: 1.7 },
        failure_rate: { value: 0.05, baseline: 0 },
        workers: { online: 2, total: 3 },
      },
      "stats/timeseries": { window, bucket_seconds: 60, starts: ["2024-01-01T00:00:00Z"], counts: { SUCCESS: [5], FAILURE: [1] } },
      failures: {
        window,
        group_by: "exception",
        total: 6,
        groups: [{ exception_type: "<b>Err</b>", count: 6, first_seen: null, last_seen: null, task_names: ["t"], sample_task_ids: [] }],
      },
      graphs: {
        graphs: [
          { task_id: "fast", name: "f", state: "SUCCESS", flow_first_seen: "2024-01-01T00:00:00Z", flow_last_updated: "2024-01-01T00:00:01Z" },
          { task_id: "slow", name: "s", state: "SUCCESS", flow_first_seen: "2024-01-01T00:00:00Z", flow_last_updated: "2024-01-01T00:01:00Z" },
        ],
        total: 2,
        limit: 100,
        offset: 0,
      },
    });
    const { container, unmount } = await render(<OverviewPage query={new URLSearchParams("within=6h")} replaceQuery={() => {}} />);
    const kpi = (id: string) => container.querySelector(`[data-kpi="${id}"]`)!.textContent;
    expect(kpi("runs")).toContain("120");
    expect(kpi("runs")).toContain("+20% vs previous");
    expect(kpi("failures")).toContain("new vs previous");
    expect(kpi("workers")).toContain("2 / 3");
    expect(container.querySelectorAll('[data-testid="chart-bar"]')).toHaveLength(1);
    const failure = container.querySelector('[data-testid="failure-group"]')!;
    expect(failure.querySelector("b")).toBeNull();
    expect(failure.textContent).toContain("<b>Err</b>");
    const slow = [...container.querySelectorAll<HTMLElement>('[data-testid="slow-flow"]')].map((r) => r.dataset.rootId);
    expect(slow).toEqual(["slow", "fast"]);
    expect(calls.every((url) => url.includes("within=6h"))).toBe(true);
    unmount();
  });
});

describe("RegistryPage", () => {
  it("lists task names with a link to their runs and sends the filters", async () => {
    const calls = mockApi({
      "tasks/registry": {
        tasks: [
          {
            name: "proj.add",
            module: "proj",
            signature: "(x, y)",
            docstring: "Add.",
            bound: false,
            execution_count: 3,
            registered_by: ["w1"],
            last_run: null,
            status: "never_run",
          },
        ],
        total: 1,
      },
    });
    const { container, unmount } = await render(
      <RegistryPage query={new URLSearchParams("status=never_run&query=add")} replaceQuery={() => {}} />,
    );
    const row = container.querySelector<HTMLElement>('[data-testid="registry-row"]')!;
    expect(row.dataset.status).toBe("never_run");
    expect(row.textContent).toContain("(x, y)");
    expect(row.querySelector<HTMLAnchorElement>('[data-testid="view-runs"]')!.getAttribute("href")).toBe(
      "#/tasks?name_exact=proj.add",
    );
    expect(calls[0]).toContain("api/tasks/registry?query=add&status=never_run");
    unmount();
  });
});
