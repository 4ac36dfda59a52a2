/**
 * The failure-rate chart of one release, drawn on the server as SVG (no script, no inline style: colours come
 * from classes in app.css). One line per failure class over the last ten minutes, each class's trigger threshold
 * as a dashed line of the same colour, and the timeline's changes as ticks on the time axis.
 */

import type { TimelineItem } from "../../control/timeline";
import type { ClassSeries } from "../../rollout/rate-series";
import { pct } from "./layout";

const W = 600;
const H = 170;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

export function RateChart(props: {
  release: string;
  role: string | null;
  series: ClassSeries[];
  from: number;
  to: number;
  changes: TimelineItem[];
}) {
  const { series, from, to } = props;
  const peak = Math.max(
    0.02,
    ...series.flatMap((s) => [...s.points.map((p) => p.rate ?? 0), (s.threshold ?? 0) * 1.5]),
  );
  const top = Math.min(1, peak * 1.15);
  const x = (t: number) => PAD.left + ((t - from) / (to - from)) * (W - PAD.left - PAD.right);
  const y = (r: number) => PAD.top + (1 - Math.min(r, top) / top) * (H - PAD.top - PAD.bottom);
  const path = (s: ClassSeries) => {
    let d = "";
    let pen = false;
    for (const p of s.points) {
      if (p.rate === null || p.at < from) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x(Math.min(p.at, to)).toFixed(1)},${y(p.rate).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  const latest = (s: ClassSeries) => [...s.points].reverse().find((p) => p.rate !== null)?.rate ?? null;
  const marks = props.changes.filter((i) => i.kind !== "rate" && Date.parse(i.at) >= from && Date.parse(i.at) <= to);
  const label = `${props.release}${props.role ? ` (${props.role})` : ""}`;
  return (
    <figure class="chart" data-release={props.release}>
      <figcaption>
        Failure rates of <b>{label}</b>, last 10 minutes
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`failure rates of ${label}`}>
        <rect
          class="plot"
          x={PAD.left}
          y={PAD.top}
          width={W - PAD.left - PAD.right}
          height={H - PAD.top - PAD.bottom}
        />
        {[0, 0.5, 1].map((f) => (
          <g>
            <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={y(top * f)} y2={y(top * f)} />
            <text class="axis" x={PAD.left - 4} y={y(top * f) + 4} text-anchor="end">
              {pct(top * f)}
            </text>
          </g>
        ))}
        {[0, 5, 10].map((m) => (
          <text class="axis" x={x(to - (10 - m) * 60_000)} y={H - 6} text-anchor="middle">
            {m === 10 ? "now" : `−${10 - m} min`}
          </text>
        ))}
        {marks.map((i) => (
          <a href={i.seq === null ? undefined : `/console/audit/${i.seq}`}>
            <line
              class={`mark mark-${i.kind}`}
              x1={x(Date.parse(i.at))}
              x2={x(Date.parse(i.at))}
              y1={PAD.top}
              y2={H - PAD.bottom}
              data-change={i.action}
            >
              <title>{`${i.at.slice(11, 19)} ${i.action} by ${i.actor ?? "?"}: ${i.reason ?? ""}`}</title>
            </line>
          </a>
        ))}
        {series.map((s, n) => (
          <g class={`c${n % 6}`} data-class={s.failureClass} data-latest={String(latest(s) ?? "")}>
            {s.threshold === null ? null : (
              <line
                class="threshold"
                x1={PAD.left}
                x2={W - PAD.right}
                y1={y(s.threshold)}
                y2={y(s.threshold)}
                data-threshold={String(s.threshold)}
              />
            )}
            <path class="rate" d={path(s)} />
          </g>
        ))}
      </svg>
      <ul class="legend">
        {series.length === 0 ? <li>No failures counted and no trigger set.</li> : null}
        {series.map((s, n) => (
          <li class={`c${n % 6}`}>
            <span class="swatch" /> {s.failureClass}: now{" "}
            <b data-testid={`rate-${props.release}-${s.failureClass}`}>{pct(latest(s))}</b>
            {s.threshold === null ? " (no trigger)" : ` · threshold ${pct(s.threshold)} over ${s.windowSeconds} s`}
          </li>
        ))}
      </ul>
    </figure>
  );
}
