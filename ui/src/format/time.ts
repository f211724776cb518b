// Human-readable durations and timestamps, in the viewer's local time zone or in UTC (header toggle).

export type TimeZoneMode = "local" | "utc";
let zone: TimeZoneMode = "local";

/** Switch every formatter below between local time and UTC. */
export function setTimeZoneMode(mode: TimeZoneMode): void {
  zone = mode;
}

export function timeZoneMode(): TimeZoneMode {
  return zone;
}

/** Calendar fields of a date in the current mode. */
function fields(date: Date) {
  return zone === "utc"
    ? [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getFullYear(), date.getMonth(), date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()];
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** 850 → "850 ms", 1234 → "1.23 s", 125000 → "2m 05s", 3725000 → "1h 02m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours === 0) return `${minutes}m ${pad(seconds)}s`;
  if (hours < 24) return `${hours}h ${pad(minutes)}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "HH:MM:SS" for today, "YYYY-MM-DD HH:MM:SS" for any other day; "—" when absent or invalid. */
export function formatTime(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parse(iso);
  if (!date) return "—";
  const [year, month, day, hours, minutes, seconds] = fields(date) as [number, number, number, number, number, number];
  const [nowYear, nowMonth, nowDay] = fields(now);
  const time = `${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
  const sameDay = year === nowYear && month === nowMonth && day === nowDay;
  return sameDay ? time : `${year}-${pad(month + 1)}-${pad(day)} ${time}`;
}

/** Full timestamp with milliseconds (and "Z" in UTC mode), for detail views and tooltips. */
export function formatTimestamp(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return "—";
  return `${formatTime(iso, new Date(0))}.${pad(date.getMilliseconds(), 3)}${zone === "utc" ? "Z" : ""}`;
}

/** "HH:MM:SS.mmm" without the date, for steps within one task. */
export function formatClock(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return "—";
  return `${formatTime(iso, date)}.${pad(date.getMilliseconds(), 3)}${zone === "utc" ? "Z" : ""}`;
}

/** "just now", "12s ago", "5m ago", "3h ago", "2d ago". */
export function formatAgo(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parse(iso);
  if (!date) return "—";
  const seconds = Math.max(0, Math.round((now.getTime() - date.getTime()) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** The first 8 characters of an id (UUIDs stay recognisable). */
export function shortId(id: string | null | undefined): string {
  if (!id) return "—";
  return id.length > 8 ? id.slice(0, 8) : id;
}
