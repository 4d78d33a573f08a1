import type { RateLimitWindow, Reservation } from "../../domain/fixed-window.js";

export type { RateLimitWindow };

/** What the store counted for one reservation. */
export interface ReservationCount {
  /** The units counted, all or part of those asked for: none past the limit. */
  granted: number;
  /** The window's count as the store last saw it (at most `limit`), this reservation included. */
  used: number;
}

/** The windows of keys' rate limits shared by every instance (domain/fixed-window.ts). */
export interface RateLimitWindowStore {
  /**
   * Counts up to `units` more requests in a rate-limit window, never past `limit`, in one atomic
   * step; returns how many it counted and the window's count after it (at most `limit`). The
   * window is made on first use.
   */
  reserveRateLimit(window: RateLimitWindow, units: number): Promise<ReservationCount>;
  /**
   * Several reservations in one store call, answered in their order. Each is counted in one
   * atomic step as `reserveRateLimit` counts it, and never past its limit; the batch is not
   * atomic as a whole.
   */
  reserveRateLimits(reservations: readonly Reservation[]): Promise<ReservationCount[]>;
  /** The counts of these windows (at most their limits), by id; a window never counted in is missing. */
  countRateLimits(windows: readonly RateLimitWindow[]): Promise<Map<string, number>>;
  /** Drops windows that ended before `before`. */
  pruneRateLimits(before: Date): Promise<void>;
}
