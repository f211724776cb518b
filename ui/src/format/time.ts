// Human-readable durations and timestamps (shown in the viewer's local time zone).

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

/** Local "HH:MM:SS" for today, "YYYY-MM-DD HH:MM:SS" for any other day; "—" when absent or invalid. */
export function formatTime(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parse(iso);
  if (!date) return "—";
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const sameDay =
    date.getFullYear() === now.getFullYear() && date.getMonth() === now.getMonth() && date.getDate() === now.getDate();
  return sameDay ? time : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

/** Full local timestamp with milliseconds, for detail views and tooltips. */
export function formatTimestamp(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return "—";
  return `${formatTime(iso, new Date(0))}.${pad(date.getMilliseconds(), 3)}`;
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
