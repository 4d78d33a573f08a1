import { describe, expect, it } from "vitest";
import { type LimitCheck, SlidingWindowLimiter } from "../../src/domain/rate-limiter.js";

const check = (counter: string, limit: number, durationMs: number, name = counter, workspaceId = "ws_a"): LimitCheck => ({
  workspaceId,
  counter,
  name,
  limit,
  durationMs,
});

describe("SlidingWindowLimiter", () => {
  it("admits at most the limit in any window, however the requests fall", () => {
    const limiter = new SlidingWindowLimiter();
    const admittedAt: number[] = [];
    for (let now = 0; now < 10_000; now += 7) {
      if (limiter.apply([check("k", 10, 1000)], now).admitted) admittedAt.push(now);
    }
    for (let i = 0; i + 10 < admittedAt.length; i++) expect(admittedAt[i + 10]! - admittedAt[i]!).toBeGreaterThanOrEqual(1000);
    expect(admittedAt.length).toBeGreaterThanOrEqual(90);
  });

  it("admits again as the window slides, without waiting for an idle gap", () => {
    const limiter = new SlidingWindowLimiter();
    for (let i = 0; i < 5; i++) expect(limiter.apply([check("k", 5, 1000)], 0).admitted).toBe(true);
    const refused = limiter.apply([check("k", 5, 1000)], 500);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes[0]).toMatchObject({ remaining: 0, exceeded: true, resetAt: 1050 });
    for (let now = 500; now < 1050; now += 10) limiter.apply([check("k", 5, 1000)], now);
    expect(limiter.apply([check("k", 5, 1000)], 1050).admitted).toBe(true);
  });

  it("applies several limits atomically: all pass or none counts", () => {
    const limiter = new SlidingWindowLimiter();
    const both = [check("second", 100, 1000), check("burst", 2, 60_000)];
    expect(limiter.apply(both, 0).admitted).toBe(true);
    expect(limiter.apply(both, 1).admitted).toBe(true);
    const refused = limiter.apply(both, 2);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes).toEqual([
      { name: "second", limit: 100, remaining: 98, resetAt: 1050, exceeded: false },
      { name: "burst", limit: 2, remaining: 0, resetAt: 63_000, exceeded: true },
    ]);
    expect(limiter.apply([check("second", 100, 1000)], 3).outcomes[0]!.remaining).toBe(97);
  });

  it("keeps separate counters apart and shares one counter between callers", () => {
    const limiter = new SlidingWindowLimiter();
    expect(limiter.apply([check("a", 1, 1000)], 0).admitted).toBe(true);
    expect(limiter.apply([check("b", 1, 1000)], 0).admitted).toBe(true);
    expect(limiter.apply([check("a", 1, 1000, "other name")], 0).admitted).toBe(false);
  });

  it("starts over when a limit's settings change", () => {
    const limiter = new SlidingWindowLimiter();
    limiter.apply([check("k", 1, 1000)], 0);
    expect(limiter.apply([check("k", 1, 1000)], 1).admitted).toBe(false);
    expect(limiter.apply([check("k", 2, 1000)], 2).admitted).toBe(true);
  });

  it("stays within a workspace's budget by reusing the place of a counter whose window has passed", () => {
    const limiter = new SlidingWindowLimiter(3);
    for (const counter of ["a", "b", "c"]) limiter.apply([check(counter, 1, 100)], 0);
    expect(limiter.apply([check("d", 1, 100)], 1000).admitted).toBe(true);
    expect(limiter.size).toBe(3);
  });

  it("never drops a counter still counting: another tenant's counters cannot reopen an exhausted limit", () => {
    const limiter = new SlidingWindowLimiter(3);
    const victim = check("victim", 2, 60_000, "victim", "ws_victim");
    limiter.apply([victim], 0);
    limiter.apply([victim], 0);
    expect(limiter.apply([victim], 1).admitted).toBe(false);
    for (let i = 0; i < 10_000; i++) limiter.apply([check(`flood_${i}`, 5, 60_000, "flood", "ws_attacker")], 2);
    expect(limiter.apply([victim], 3).admitted).toBe(false);
  });

  it("refuses new limits of a workspace whose budget is full of live counters, and only that workspace's", () => {
    const limiter = new SlidingWindowLimiter(2);
    limiter.apply([check("a", 5, 60_000)], 0);
    limiter.apply([check("b", 5, 60_000)], 0);
    const refused = limiter.apply([check("c", 5, 60_000)], 1);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes).toEqual([{ name: "c", limit: 5, remaining: 0, resetAt: 60_001, exceeded: true }]);
    expect(limiter.apply([check("a", 5, 60_000)], 1).admitted).toBe(true);
    expect(limiter.apply([check("c", 5, 60_000, "c", "ws_other")], 1).admitted).toBe(true);
    expect(limiter.apply([check("c", 5, 60_000)], 60_000 + 3000 + 1).admitted).toBe(true);
  });
});
