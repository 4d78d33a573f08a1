import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface ChartBucket {
  /** The bucket's start, in ms. */
  time: number;
  /** Counts by VerifyCode name (VERIFY_CODE_VALID, …). */
  outcomes: Record<string, bigint | number>;
}

const COLORS: Record<string, string> = {
  VALID: "#1a7f37",
  RATE_LIMITED: "#9a6700",
  USAGE_EXCEEDED: "#bc4c00",
  REVOKED: "#cf222e",
  EXPIRED: "#8250df",
  DISABLED: "#57606a",
  NOT_FOUND: "#0969da",
  FORBIDDEN: "#bf3989",
  INSUFFICIENT_PERMISSIONS: "#1b7c83",
};

export const outcomeName = (code: string) => code.replace(/^VERIFY_CODE_/, "");

/**
 * Verifications over time, one line per outcome, drawn by uPlot into a canvas that follows its
 * container's width; the figure's caption says the totals for whoever cannot see the canvas.
 */
export function OutcomeChart({ buckets, label }: { buckets: ChartBucket[]; label: string }) {
  const container = useRef<HTMLDivElement>(null);
  const times = [...new Set(buckets.map((bucket) => bucket.time))].sort((a, b) => a - b);
  const outcomes = [...new Set(buckets.flatMap((bucket) => Object.keys(bucket.outcomes)))].map(outcomeName).sort();
  const totals = outcomes.map((outcome) => [outcome, buckets.reduce((sum, bucket) => sum + Number(bucket.outcomes[`VERIFY_CODE_${outcome}`] ?? 0), 0)] as const);

  useEffect(() => {
    const element = container.current;
    if (!element || times.length === 0) return;
    const series = outcomes.map((outcome) =>
      times.map((time) => buckets.filter((bucket) => bucket.time === time).reduce((sum, bucket) => sum + Number(bucket.outcomes[`VERIFY_CODE_${outcome}`] ?? 0), 0)),
    );
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: 220,
        series: [{}, ...outcomes.map((outcome) => ({ label: outcome, stroke: COLORS[outcome] ?? "#24292f", width: 2, points: { show: times.length < 60 } }))],
        axes: [{}, { size: 48 }],
        scales: { x: { time: true }, y: { range: (_plot, _min, max) => [0, Math.max(1, max)] } },
        legend: { show: true },
      },
      [times.map((time) => time / 1000), ...series],
      element,
    );
    const resized = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height: 220 }));
    resized.observe(element);
    return () => {
      resized.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify(buckets, (_key, value) => (typeof value === "bigint" ? Number(value) : value))]);

  const summary = totals.length ? totals.map(([outcome, count]) => `${outcome} ${count}`).join(", ") : "no verifications";
  return (
    <figure class="chart" data-testid="outcome-chart" data-total={totals.reduce((sum, [, count]) => sum + count, 0)}>
      {times.length ? <div ref={container} role="img" aria-label={`${label}: ${summary}`} /> : <p class="muted">No verifications in this range yet.</p>}
      <figcaption>
        {label}: {summary}
      </figcaption>
    </figure>
  );
}
