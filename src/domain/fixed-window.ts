import { nameHash } from "./name-hash.js";

/**
 * Rate limits counted across every instance sharing a store, in fixed windows. A counter's windows
 * are consecutive spans of `durationMs`, each counter's offset from the clock by an amount drawn
 * from its name (so counters do not all start a new window at the same moment). At most `limit`
 * requests are admitted in each window, however many instances serve them. As with any
 * fixed-window limit, a burst either side of a boundary can see up to twice the limit within one
 * duration.
 *
 * What each instance holds of a window between store steps is domain/fixed-allowances.ts.
 */

export interface LimitCheck {
  /** The workspace whose budget of counters this one counts against. */
  workspaceId: string;
  /** Identifies the counter: the same counter may be shared by several keys. */
  counter: string;
  name: string;
  limit: number;
  durationMs: number;
}

export interface LimitOutcome {
  name: string;
  limit: number;
  remaining: number;
  resetAt: number;
  exceeded: boolean;
}

/** One window of one counter, as the store counts it. */
export interface RateLimitWindow {
  /** The counter, its settings and the window: a window of a changed limit is a new one. */
  id: string;
  limit: number;
  endsAt: Date;
}

/** Room an instance asks the store for, in one window. */
export interface Reservation {
  window: RateLimitWindow;
  units: number;
}

/**
 * Windows are at least this long, whatever a limit says: each window costs every instance using
 * it at least one store write, so a shorter one would cost writes per request. Limits are refused
 * below it; one stored with a shorter window before it was enforced counts in windows of this
 * length (stricter than its own, never looser).
 */
export const MIN_RATE_LIMIT_WINDOW_MS = 1000;

/** The window length a limit counts in. */
export const windowLength = (durationMs: number) => Math.max(durationMs, MIN_RATE_LIMIT_WINDOW_MS);

/** The window of the counter that `now` falls in, as the store counts it. */
export const windowAt = (check: Pick<LimitCheck, "counter" | "limit" | "durationMs">, now: number): RateLimitWindow =>
  windowFrom(check, windowStart(check, now));

/** The counter's window that starts at `start`. */
export const windowFrom = (check: Pick<LimitCheck, "counter" | "limit" | "durationMs">, start: number): RateLimitWindow => ({
  id: `${check.counter}:${check.limit}:${check.durationMs}:${start}`,
  limit: check.limit,
  endsAt: new Date(start + check.durationMs),
});

/** The start of the counter's window that `now` falls in. */
export function windowStart(check: Pick<LimitCheck, "counter" | "durationMs">, now: number): number {
  const offset = nameHash(check.counter) % check.durationMs;
  return Math.floor((now - offset) / check.durationMs) * check.durationMs + offset;
}
