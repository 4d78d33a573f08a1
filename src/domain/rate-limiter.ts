/**
 * A sliding-window limiter kept in this process. Each window is cut into BUCKETS buckets and a
 * request counts against every bucket that overlaps the last `durationMs`, so at most `limit`
 * requests are admitted in any window of that length: never more, at worst a bucket's width
 * early in refusing. Capacity comes back bucket by bucket as the window slides; it does not wait
 * for an idle gap.
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

/**
 * Counters held per workspace by default. Workspaces are made only with the operator's ADMIN_TOKEN,
 * so this bounds memory (about 450 bytes a counter) by the operator's own decisions.
 */
export const MAX_COUNTERS_PER_WORKSPACE = 10_000;

/**
 * Counters live in one map per workspace, least recently used first. A new counter takes the
 * place of the least recently used one only if that one's window has passed (it holds nothing
 * any more): a counter still counting is never dropped, so no tenant can reopen another's
 * exhausted limit, or its own, by making counters. A workspace whose budget is full of live
 * counters has its new limits refused until some expire; other workspaces are not affected.
 * Every step is O(1).
 */
export class SlidingWindowLimiter {
  private readonly workspaces = new Map<string, Map<string, Window>>();

  constructor(private readonly maxCountersPerWorkspace = MAX_COUNTERS_PER_WORKSPACE) {}

  /** Admits the request only if every check has room; then, and only then, counts it in all of them. */
  apply(checks: readonly LimitCheck[], now: number): { admitted: boolean; outcomes: LimitOutcome[] } {
    const windows = checks.map((check) => this.window(check, now));
    const used = windows.map((window) => (window ? this.count(window, now) : Infinity));
    const admitted = used.every((count, i) => count < checks[i]!.limit);
    const outcomes = checks.map((check, i) => {
      const window = windows[i];
      if (!window) return { name: check.name, limit: check.limit, remaining: 0, resetAt: now + check.durationMs, exceeded: true };
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

  /** Counters held, in all workspaces. */
  get size() {
    let total = 0;
    for (const counters of this.workspaces.values()) total += counters.size;
    return total;
  }

  /** The check's counter, made if there is room for it; undefined when its workspace's budget is full of live counters. */
  private window(check: LimitCheck, now: number): Window | undefined {
    let counters = this.workspaces.get(check.workspaceId);
    if (!counters) {
      counters = new Map();
      this.workspaces.set(check.workspaceId, counters);
    }
    let window = counters.get(check.counter);
    if (window) counters.delete(check.counter);
    if (!window || window.limit !== check.limit || window.durationMs !== check.durationMs) {
      if (!window && !this.makeRoom(counters, now)) return undefined;
      window = {
        limit: check.limit,
        durationMs: check.durationMs,
        width: Math.max(1, Math.ceil(check.durationMs / BUCKETS)),
        slots: new Float64Array(BUCKETS + 1).fill(-1),
        counts: new Float64Array(BUCKETS + 1),
        lastUsed: now,
      };
    }
    window.lastUsed = now;
    counters.set(check.counter, window);
    return window;
  }

  /** Drops the least recently used counter if its window has passed; says whether there is room. */
  private makeRoom(counters: Map<string, Window>, now: number): boolean {
    if (counters.size < this.maxCountersPerWorkspace) return true;
    const [counter, window] = counters.entries().next().value!;
    if (now - window.lastUsed <= window.durationMs + window.width) return false;
    counters.delete(counter);
    return true;
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
}
