import { invalidArgument } from "../errors.js";

export const GRANULARITIES = ["minute", "hour", "day", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** How long rows of each granularity are kept after their bucket ends, in milliseconds. */
export type Retention = Record<Granularity, number>;

const DAY_MS = 86_400_000;

export const DEFAULT_RETENTION: Retention = { minute: 7 * DAY_MS, hour: 92 * DAY_MS, day: 731 * DAY_MS, month: 3660 * DAY_MS };

/** The longest range one query may span at each granularity: what keeps a query's reads bounded. */
export const MAX_RANGE_MS: Retention = { minute: DAY_MS, hour: 92 * DAY_MS, day: 731 * DAY_MS, month: 3660 * DAY_MS };

const FIXED_LENGTH_MS: Record<Exclude<Granularity, "month">, number> = { minute: 60_000, hour: 3_600_000, day: DAY_MS };

/** The start of the UTC bucket holding `at`. */
export function bucketStart(granularity: Granularity, at: number): number {
  if (granularity !== "month") return at - mod(at, FIXED_LENGTH_MS[granularity]);
  const date = new Date(at);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucket(granularity: Granularity, start: number): number {
  if (granularity !== "month") return start + FIXED_LENGTH_MS[granularity];
  const date = new Date(start);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

const mod = (value: number, by: number) => ((value % by) + by) % by;

/** Checks a query's range: in order, and no longer than its granularity allows. */
export function checkRange(granularity: Granularity, from: Date, to: Date) {
  if (to <= from) throw invalidArgument("end_time", "must be after start_time");
  if (to.getTime() - from.getTime() > MAX_RANGE_MS[granularity]) {
    throw invalidArgument("end_time", `may be at most ${MAX_RANGE_MS[granularity] / DAY_MS} days after start_time at ${granularity} granularity`);
  }
}

/**
 * Counts of a bucket that ended this long ago are taken as final: every instance has flushed
 * them (a flush follows its counts within `ANALYTICS_FLUSH_MS` plus its writes), unless the store
 * has been failing its writes for that long.
 */
export const FINAL_AFTER_MS = 3_600_000;

/** Whether the bucket starting at `start` holds its final counts at `at`. */
export const isFinal = (granularity: Granularity, start: number, at: number) => nextBucket(granularity, start) + FINAL_AFTER_MS <= at;
