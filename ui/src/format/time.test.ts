import { afterEach, describe, expect, it } from "vitest";
import { formatAgo, formatClock, formatDuration, formatTime, formatTimestamp, setTimeZoneMode, shortId, timeZoneMode } from "./time";

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [850.4, "850 ms"],
    [1234, "1.23 s"],
    [12_340, "12.3 s"],
    [125_000, "2m 05s"],
    [3_725_000, "1h 02m"],
    [90_000_000, "1d 1h"],
  ])("%s ms → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("shows a dash for missing or invalid values", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(undefined)).toBe("—");
    expect(formatDuration(-5)).toBe("—");
    expect(formatDuration(Number.NaN)).toBe("—");
  });
});

describe("formatTime", () => {
  // Built from local components, so the expectations hold in any time zone.
  const at = new Date(2024, 0, 2, 3, 4, 5, 67);

  it("shows only the time for today", () => {
    expect(formatTime(at.toISOString(), new Date(2024, 0, 2, 23, 0, 0))).toBe("03:04:05");
  });

  it("adds the date on other days", () => {
    expect(formatTime(at.toISOString(), new Date(2024, 0, 3))).toBe("2024-01-02 03:04:05");
  });

  it("handles missing and invalid input", () => {
    expect(formatTime(null)).toBe("—");
    expect(formatTime("not a date")).toBe("—");
  });

  it("formats a full timestamp with milliseconds", () => {
    expect(formatTimestamp(at.toISOString())).toBe("2024-01-02 03:04:05.067");
    expect(formatTimestamp(undefined)).toBe("—");
  });
});

describe("formatAgo", () => {
  const now = new Date("2024-01-02T12:00:00Z");
  it.each([
    ["2024-01-02T11:59:58Z", "just now"],
    ["2024-01-02T11:59:30Z", "30s ago"],
    ["2024-01-02T11:55:00Z", "5m ago"],
    ["2024-01-02T09:00:00Z", "3h ago"],
    ["2023-12-31T12:00:00Z", "2d ago"],
  ])("%s → %s", (iso, text) => {
    expect(formatAgo(iso, now)).toBe(text);
  });
});

describe("shortId", () => {
  it("keeps the first 8 characters", () => {
    expect(shortId("0123456789abcdef")).toBe("01234567");
    expect(shortId("abc")).toBe("abc");
    expect(shortId(null)).toBe("—");
  });
});

describe("UTC mode", () => {
  afterEach(() => setTimeZoneMode("local"));

  it("formats in UTC whatever the local zone", () => {
    setTimeZoneMode("utc");
    expect(timeZoneMode()).toBe("utc");
    expect(formatTime("2024-01-02T03:04:05.067Z", new Date("2024-01-02T20:00:00Z"))).toBe("03:04:05");
    expect(formatTime("2024-01-02T03:04:05.067Z", new Date("2024-01-03T00:00:00Z"))).toBe("2024-01-02 03:04:05");
    expect(formatTimestamp("2024-01-02T03:04:05.067Z")).toBe("2024-01-02 03:04:05.067Z");
    expect(formatClock("2024-01-02T03:04:05.067Z")).toBe("03:04:05.067Z");
  });

  it("goes back to local time", () => {
    setTimeZoneMode("utc");
    setTimeZoneMode("local");
    const at = new Date(2024, 0, 2, 3, 4, 5, 67);
    expect(formatTimestamp(at.toISOString())).toBe("2024-01-02 03:04:05.067");
  });
});
