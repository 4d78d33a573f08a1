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

/** The time slots a chart spans: every bucket start from `startMs` to `endMs`, `stepMs` apart, on UTC boundaries. */
export interface Slots {
  startMs: number;
  endMs: number;
  stepMs: number;
}

export function slotTimes({ startMs, endMs, stepMs }: Slots): number[] {
  const times = [];
  for (let time = Math.floor(startMs / stepMs) * stepMs; time < endMs; time += stepMs) times.push(time);
  return times;
}

/**
 * Verifications over time as bars stacked by outcome, drawn by uPlot into a canvas that follows
 * its container's width: every slot of the range is on the axis, empty ones at zero. The
 * figure's caption says the totals for whoever cannot see the canvas.
 */
export function OutcomeChart({ buckets, slots, label }: { buckets: ChartBucket[]; slots: Slots; label: string }) {
  const container = useRef<HTMLDivElement>(null);
  const outcomes = [...new Set(buckets.flatMap((bucket) => Object.keys(bucket.outcomes)))].map(outcomeName).sort((a, b) => (a === "VALID" ? -1 : b === "VALID" ? 1 : a.localeCompare(b)));
  const totals = outcomes.map((outcome) => [outcome, buckets.reduce((sum, bucket) => sum + Number(bucket.outcomes[`VERIFY_CODE_${outcome}`] ?? 0), 0)] as const);

  useEffect(() => {
    const element = container.current;
    if (!element || outcomes.length === 0) return;
    const times = slotTimes(slots);
    const slotOf = new Map(times.map((time, index) => [time, index]));
    const counts = outcomes.map(() => times.map(() => 0));
    for (const bucket of buckets) {
      const slot = slotOf.get(Math.floor(bucket.time / slots.stepMs) * slots.stepMs);
      if (slot === undefined) continue;
      outcomes.forEach((outcome, index) => (counts[index]![slot]! += Number(bucket.outcomes[`VERIFY_CODE_${outcome}`] ?? 0)));
    }
    // Stacked: each series is drawn at the sum of itself and those below it, the tallest first so the shorter paint over it.
    const stacked = counts.map((_, index) => times.map((_, slot) => counts.slice(0, index + 1).reduce((sum, series) => sum + series[slot]!, 0)));
    const order = outcomes.map((_, index) => index).reverse();
    const bars = uPlot.paths.bars!({ size: [0.8, 40], align: 1 });
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: 220,
        series: [
          {},
          ...order.map((index) => ({
            label: outcomes[index]!,
            stroke: COLORS[outcomes[index]!] ?? "#24292f",
            fill: COLORS[outcomes[index]!] ?? "#24292f",
            paths: bars,
            points: { show: false },
            value: (_plot: uPlot, _value: number, _series: number, slot: number | null) => (slot === null ? "—" : String(counts[index]![slot])),
          })),
        ],
        axes: [{}, { size: 48 }],
        scales: { x: { time: true, range: () => [times[0]! / 1000, (times[times.length - 1]! + slots.stepMs) / 1000] }, y: { range: (_plot, _min, max) => [0, Math.max(1, max)] } },
      },
      [times.map((time) => time / 1000), ...order.map((index) => stacked[index]!)],
      element,
    );
    const resized = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height: 220 }));
    resized.observe(element);
    return () => {
      resized.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify(buckets, (_key, value) => (typeof value === "bigint" ? Number(value) : value)), slots.startMs, slots.stepMs]);

  const summary = totals.length ? totals.map(([outcome, count]) => `${outcome} ${count}`).join(", ") : "no verifications";
  return (
    <figure class="chart" data-testid="outcome-chart" data-total={totals.reduce((sum, [, count]) => sum + count, 0)}>
      {outcomes.length ? <div ref={container} role="img" aria-label={`${label}: ${summary}`} /> : <p class="muted">No verifications in this range yet.</p>}
      <figcaption>
        {label}: {summary}
      </figcaption>
    </figure>
  );
}
