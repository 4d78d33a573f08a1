import type { RateLimitWindow } from "../../domain/fixed-window.js";

export type { RateLimitWindow };

/** The windows of keys' rate limits shared by every instance (domain/fixed-window.ts). */
export interface RateLimitWindowStore {
  /**
   * Counts up to `units` more requests in a rate-limit window, never past `limit`, in one atomic
   * step; returns how many it counted and the window's count after it (at most `limit`). The
   * window is made on first use.
   */
  reserveRateLimit(window: RateLimitWindow, units: number): Promise<{ granted: number; used: number }>;
  /** The counts of these windows (at most their limits), by id; a window never counted in is missing. */
  countRateLimits(windows: readonly RateLimitWindow[]): Promise<Map<string, number>>;
  /** Drops windows that ended before `before`. */
  pruneRateLimits(before: Date): Promise<void>;
}
