// Tasks per time bucket, stacked by state: plain SVG, stretched to the card's width.
import type { Timeseries } from "../api/types";
import { stateClass } from "../components/StateBadge";
import { formatDuration, formatTime } from "../format/time";
import { stack } from "./stats";

const HEIGHT = 120;
const BAR = 10;
const GAP = 2;

export function ThroughputChart({ series }: { series: Timeseries }) {
  const { buckets, max, states } = stack(series);
  if (max === 0) return <p className="muted">No tasks in this window.</p>;
  const scale = (n: number) => (n / max) * HEIGHT;
  const width = buckets.length * (BAR + GAP);
  const labelAt = [0, Math.floor(buckets.length / 2), buckets.length - 1];
  return (
    <figure className="chart" data-testid="throughput-chart">
      <div className="chart-legend">
        {states.map((state) => (
          <span key={state} className={`legend-item ${stateClass(state)}`}>
            {state}
          </span>
        ))}
        <span className="muted">per {formatDuration(series.bucket_seconds * 1000)} · peak {max.toLocaleString()}</span>
      </div>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label="Tasks per time bucket by state">
        {buckets.map((bucket, i) => (
          <g key={bucket.start} data-testid="chart-bar" data-total={bucket.total}>
            <title>{`${formatTime(bucket.start)}: ${bucket.segments.map((s) => `${s.count} ${s.state}`).join(", ") || "none"}`}</title>
            <rect x={i * (BAR + GAP)} y={0} width={BAR} height={HEIGHT} className="chart-hover" />
            {bucket.segments.map((s) => (
              <rect
                key={s.state}
                className={`chart-segment ${stateClass(s.state)}`}
                x={i * (BAR + GAP)}
                y={HEIGHT - scale(s.below + s.count)}
                width={BAR}
                height={scale(s.count)}
              />
            ))}
          </g>
        ))}
      </svg>
      <figcaption className="chart-axis">
        {labelAt.map((i, n) => (
          <span key={n}>{formatTime(buckets[i]?.start)}</span>
        ))}
      </figcaption>
    </figure>
  );
}
