/**
 * A sliding-window limiter kept in this process. Each window is cut into BUCKETS buckets and a
 * request counts against every bucket that overlaps the last `durationMs`, so at most `limit`
 * requests are admitted in any window of that length: never more, at worst a bucket's width
 * early in refusing. Capacity comes back bucket by bucket as the window slides; it does not wait
 * for an idle gap.
 */
export interface LimitCheck {
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

const BUCKETS = 20;

interface Window {
  limit: number;
  durationMs: number;
  width: number;
  /** Absolute bucket number (time / width) of each slot, and its count. */
  slots: Float64Array;
  counts: Float64Array;
  lastUsed: number;
}

export class SlidingWindowLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly maxCounters = 100_000) {}

  /** Admits the request only if every check has room; then, and only then, counts it in all of them. */
  apply(checks: readonly LimitCheck[], now: number): { admitted: boolean; outcomes: LimitOutcome[] } {
    const windows = checks.map((check) => this.window(check, now));
    const used = windows.map((window) => this.count(window, now));
    const admitted = used.every((count, i) => count < windows[i]!.limit);
    const outcomes = checks.map((check, i) => {
      const window = windows[i]!;
      const count = used[i]! + (admitted ? 1 : 0);
      if (admitted) this.add(window, now);
      return {
        name: check.name,
        limit: check.limit,
        remaining: Math.max(0, check.limit - count),
        resetAt: this.nextRelease(window, now),
        exceeded: used[i]! >= window.limit,
      };
    });
    return { admitted, outcomes };
  }

  get size() {
    return this.windows.size;
  }

  private window(check: LimitCheck, now: number): Window {
    let window = this.windows.get(check.counter);
    if (!window || window.limit !== check.limit || window.durationMs !== check.durationMs) {
      if (!window && this.windows.size >= this.maxCounters) this.dropIdle(now);
      window = {
        limit: check.limit,
        durationMs: check.durationMs,
        width: Math.max(1, Math.ceil(check.durationMs / BUCKETS)),
        slots: new Float64Array(BUCKETS + 1).fill(-1),
        counts: new Float64Array(BUCKETS + 1),
        lastUsed: now,
      };
      this.windows.set(check.counter, window);
    }
    window.lastUsed = now;
    return window;
  }

  /** Requests in the buckets from `current - BUCKETS` to `current`: a span of at least one window. */
  private count(window: Window, now: number): number {
    const current = Math.floor(now / window.width);
    let total = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      if (window.slots[i]! >= current - BUCKETS) total += window.counts[i]!;
    }
    return total;
  }

  private add(window: Window, now: number) {
    const current = Math.floor(now / window.width);
    const slot = current % (BUCKETS + 1);
    if (window.slots[slot] !== current) {
      window.slots[slot] = current;
      window.counts[slot] = 0;
    }
    window.counts[slot]!++;
  }

  /** When the oldest counted bucket leaves the window and gives its capacity back. */
  private nextRelease(window: Window, now: number): number {
    const current = Math.floor(now / window.width);
    let oldest = current;
    for (let i = 0; i <= BUCKETS; i++) {
      const bucket = window.slots[i]!;
      if (bucket >= current - BUCKETS && window.counts[i]! > 0 && bucket < oldest) oldest = bucket;
    }
    return (oldest + BUCKETS + 1) * window.width;
  }

  /** Forgets counters idle for longer than their window: they hold nothing any more. */
  private dropIdle(now: number) {
    for (const [counter, window] of this.windows) {
      if (now - window.lastUsed > window.durationMs + window.width) this.windows.delete(counter);
    }
    if (this.windows.size >= this.maxCounters) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
  }
}
