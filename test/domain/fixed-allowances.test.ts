import { describe, expect, it } from "vitest";
import { RateLimitAllowances } from "../../src/domain/fixed-allowances.js";
import { type LimitCheck, windowStart } from "../../src/domain/fixed-window.js";

const check = (counter: string, limit: number, durationMs: number, name = counter, workspaceId = "ws_a"): LimitCheck => ({
  workspaceId,
  counter,
  name,
  limit,
  durationMs,
});

/** The store's side, as the contract suite holds every adapter to it: counts per window, never past the limit. */
class WindowCounts {
  readonly used = new Map<string, number>();
  reservations = 0;

  /** Decides for one instance, reserving (and prefetching) from these counts as the store would. */
  apply(instance: RateLimitAllowances, checks: LimitCheck[], now: number) {
    for (;;) {
      const decision = instance.decide(checks, now);
      if (!("reserve" in decision)) {
        for (const reservation of [...decision.prefetch, ...decision.ahead]) this.reserve(instance, reservation);
        return decision;
      }
      for (const reservation of decision.reserve) this.reserve(instance, reservation);
    }
  }

  reserve(instance: RateLimitAllowances, reservation: { window: { id: string; limit: number }; units: number }) {
    this.reservations++;
    const used = this.used.get(reservation.window.id) ?? 0;
    const granted = Math.max(0, Math.min(reservation.units, reservation.window.limit - used));
    this.used.set(reservation.window.id, used + granted);
    instance.granted(reservation as never, granted, used + granted);
  }
}

describe("RateLimitAllowances", () => {
  it("admits the whole limit per window and no more, however many instances share it", () => {
    const store = new WindowCounts();
    const instances = [new RateLimitAllowances(), new RateLimitAllowances(), new RateLimitAllowances()];
    const limit = check("k", 1000, 60_000);
    const start = windowStart(limit, 0);
    let admitted = 0;
    for (let i = 0; i < 5000; i++) if (store.apply(instances[i % 3]!, [limit], start + i).admitted) admitted++;
    expect(admitted).toBe(1000);
    expect(store.reservations).toBeLessThan(200);
  });

  it("admits again in the next window, and says when the window ends", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances();
    const limit = check("k", 2, 1000);
    const start = windowStart(limit, 5000);
    expect(store.apply(instance, [limit], start).admitted).toBe(true);
    expect(store.apply(instance, [limit], start + 1).admitted).toBe(true);
    const refused = store.apply(instance, [limit], start + 999);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes).toEqual([{ name: "k", limit: 2, remaining: 0, resetAt: start + 1000, exceeded: true }]);
    expect(store.apply(instance, [limit], start + 1000).admitted).toBe(true);
  });

  it("applies several limits atomically: all pass or none counts", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances();
    const second = check("second", 100, 1_000_000);
    const burst = check("burst", 2, 1_000_000);
    const now = Math.max(windowStart(second, 2_000_000), windowStart(burst, 2_000_000));
    expect(store.apply(instance, [second, burst], now).admitted).toBe(true);
    expect(store.apply(instance, [second, burst], now).admitted).toBe(true);
    const refused = store.apply(instance, [second, burst], now);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes.map((outcome) => [outcome.name, outcome.exceeded])).toEqual([
      ["second", false],
      ["burst", true],
    ]);
    const alone = store.apply(instance, [second], now);
    expect(alone.admitted).toBe(true);
    expect(alone.outcomes[0]!.remaining).toBe(97);
  });

  it("keeps separate counters apart and shares one counter between callers", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances();
    expect(store.apply(instance, [check("a", 1, 1_000_000)], 0).admitted).toBe(true);
    expect(store.apply(instance, [check("b", 1, 1_000_000)], 0).admitted).toBe(true);
    expect(store.apply(instance, [check("a", 1, 1_000_000, "other name")], 0).admitted).toBe(false);
  });

  it("starts over when a limit's settings change", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances();
    store.apply(instance, [check("k", 1, 1_000_000)], 0);
    expect(store.apply(instance, [check("k", 1, 1_000_000)], 1).admitted).toBe(false);
    expect(store.apply(instance, [check("k", 2, 1_000_000)], 2).admitted).toBe(true);
  });

  it("reserves smaller allowances as the window fills, and the next before this one runs out", () => {
    const instance = new RateLimitAllowances();
    const limit = check("k", 1600, 1_000_000);
    const first = instance.decide([limit], 0);
    expect("reserve" in first && first.reserve[0]!.units).toBe(100);
    if (!("reserve" in first)) throw new Error("expected a reservation");
    instance.granted(first.reserve[0]!, 100, 800);
    for (let i = 0; i < 50; i++) expect(instance.decide([limit], 0)).toMatchObject({ admitted: true, prefetch: [] });
    const half = instance.decide([limit], 0);
    expect(half).toMatchObject({ admitted: true, prefetch: [{ units: 50 }] });
    expect(instance.decide([limit], 0)).toMatchObject({ admitted: true, prefetch: [] });
  });

  it("reserves in the next window during the last quarter of this one, so a busy counter never waits at a boundary", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances();
    const limit = check("k", 1600, 1000);
    const start = windowStart(limit, 1_000_000);
    store.apply(instance, [limit], start);
    expect(store.apply(instance, [limit], start + 700)).toMatchObject({ prefetch: [], ahead: [] });
    expect(store.apply(instance, [limit], start + 750).ahead).toEqual([
      { window: expect.objectContaining({ endsAt: new Date(start + 2000) }), units: 100, due: start + 875 },
    ]);
    const next = instance.decide([limit], start + 1000);
    expect(next).toMatchObject({ admitted: true, outcomes: [{ resetAt: start + 2000 }] });
  });

  it("reserves ahead for a counter asked of in its window though no request comes in the last quarter, once", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances();
    const used = check("used", 1600, 60_000);
    const start = windowStart(used, 10_000_000);
    store.apply(instance, [used], start + 1000);
    expect(instance.dueAhead(start + 44_000)).toEqual([]);
    const ahead = instance.dueAhead(start + 46_000);
    expect(ahead).toEqual([{ window: expect.objectContaining({ endsAt: new Date(start + 120_000) }), units: 100, due: start + 51_000 }]);
    expect(instance.dueAhead(start + 50_000)).toEqual([]);
    store.reserve(instance, ahead[0]!);
    expect(store.apply(instance, [used], start + 60_000)).toMatchObject({ admitted: true, outcomes: [{ resetAt: start + 120_000 }] });
    expect(store.reservations).toBe(2);
  });

  it("reserves nothing ahead for a counter whose window passed or that gave its place up", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances(1);
    const passed = check("passed", 1600, 60_000);
    const start = windowStart(passed, 10_000_000);
    store.apply(instance, [passed], start + 1000);
    expect(instance.dueAhead(start + 130_000)).toEqual([]);
    const evicted = check("evicted", 1600, 60_000);
    const evictedStart = windowStart(evicted, 20_000_000);
    store.apply(instance, [evicted], evictedStart + 1000);
    store.apply(instance, [check("newer", 1600, 60_000)], evictedStart + 1000);
    expect(instance.dueAhead(evictedStart + 59_000).map(({ window }) => window.id)).not.toContainEqual(expect.stringContaining("evicted"));
  });

  it("holds a bounded number of counters per workspace; dropping one never reopens its limit", () => {
    const store = new WindowCounts();
    const instance = new RateLimitAllowances(3);
    const victim = check("victim", 1, 1_000_000, "victim", "ws_victim");
    expect(store.apply(instance, [victim], 0).admitted).toBe(true);
    expect(store.apply(instance, [victim], 1).admitted).toBe(false);
    for (let i = 0; i < 100; i++) store.apply(instance, [check(`flood_${i}`, 5, 1_000_000, "flood", "ws_attacker")], 2);
    expect(instance.size).toBe(4);
    for (let i = 0; i < 10; i++) store.apply(instance, [check(`own_${i}`, 5, 1_000_000, "own", "ws_victim")], 3);
    expect(instance.size).toBe(6);
    expect(store.apply(instance, [victim], 4).admitted).toBe(false);
  });
});
