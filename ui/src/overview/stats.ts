// Pure helpers of the overview: comparing a figure with the previous window, stacking the timeseries.
import { TASK_STATES, type Compared, type TaskState, type Timeseries } from "../api/types";

export const WINDOWS = ["15m", "1h", "6h", "24h", "7d"] as const;
export type WindowChoice = (typeof WINDOWS)[number];

export function windowFrom(query: URLSearchParams): WindowChoice {
  const within = query.get("within");
  return (WINDOWS as readonly string[]).includes(within ?? "") ? (within as WindowChoice) : "1h";
}

/** "+25%" / "−10%" / "±0%" against the previous window; "new" when there was nothing before. */
export function change({ value, baseline }: Compared): string {
  if (baseline === 0) return value === 0 ? "±0%" : "new";
  const percent = Math.round(((value - baseline) / baseline) * 100);
  if (percent === 0) return "±0%";
  return percent > 0 ? `+${percent}%` : `−${-percent}%`;
}

export interface Segment {
  state: TaskState;
  count: number;
  /** Stacked from the bottom: `below` tasks of earlier states sit under this segment. */
  below: number;
}

export interface Bucket {
  start: string;
  total: number;
  segments: Segment[];
}

/** One stacked bar per bucket, states in lifecycle order, empty states left out. */
export function stack(series: Timeseries): { buckets: Bucket[]; max: number; states: TaskState[] } {
  const states = TASK_STATES.filter((s) => (series.counts[s] ?? []).some((n) => n > 0));
  const buckets = series.starts.map((start, i) => {
    let below = 0;
    const segments: Segment[] = [];
    for (const state of states) {
      const count = series.counts[state]?.[i] ?? 0;
      if (count > 0) segments.push({ state, count, below });
      below += count;
    }
    return { start, total: below, segments };
  });
  return { buckets, max: Math.max(0, ...buckets.map((b) => b.total)), states };
}
