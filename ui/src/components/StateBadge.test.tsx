import { describe, expect, it } from "vitest";
import { render } from "../test/render";
import { StateBadge } from "./StateBadge";

describe("StateBadge", () => {
  it("shows LOST beside the state of a task whose worker is gone, with the reason", async () => {
    const { container, unmount } = await render(<StateBadge state="STARTED" interrupted="worker_stale" />);
    expect(container.textContent).toBe("STARTEDLOST");
    const lost = container.querySelector<HTMLElement>('[data-testid="interrupted"]')!;
    expect(lost.title).toBe("Not running: its worker stopped sending heartbeats");
    unmount();
  });

  it("shows the state alone otherwise", async () => {
    const { container, unmount } = await render(<StateBadge state="STARTED" interrupted={null} />);
    expect(container.textContent).toBe("STARTED");
    unmount();
  });
});
