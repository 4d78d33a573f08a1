import { describe, expect, it } from "vitest";
import { MAX_AHEAD_DELAY_MS } from "../../src/domain/fixed-allowances.js";
import { type LimitCheck, windowStart } from "../../src/domain/fixed-window.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { SharedRateLimits } from "../../src/verify/shared-rate-limits.js";
import { countingStore } from "../support/counting-store.js";

const limit = (counter: string, max: number, durationMs: number): LimitCheck => ({ workspaceId: "ws_a", counter, name: "rps", limit: max, durationMs });
const instance = (store: MemoryStore | ReturnType<typeof countingStore>["store"], now: () => number) =>
  new SharedRateLimits(store, { now, log: createLogger("silent") });

describe("SharedRateLimits", () => {
  it("admits the limit per window across three instances under even load, counting in few store calls", async () => {
    const { store, calls } = countingStore();
    let now = 0;
    const check = limit("key:k:rps", 3000, 60_000);
    now = windowStart(check, 10_000_000);
    const instances = [instance(store, () => now), instance(store, () => now), instance(store, () => now)];
    const admitted = [0, 0];
    for (const window of [0, 1]) {
      now = windowStart(check, 10_000_000) + window * 60_000;
      for (let i = 0; i < 9000; i++) {
        now++;
        if ((await instances[i % 3]!.apply([check])).admitted) admitted[window]!++;
      }
    }
    expect(admitted).toEqual([3000, 3000]);
    expect(calls.get("reserveRateLimit")).toBeLessThan(300);
  });

  it("reserves ahead in the next windows of a thousand counters used once a window in a call per gathering delay, so the next window answers from memory", async () => {
    const { store, calls } = countingStore();
    let now = 10_000_000;
    const limits = instance(store, () => now);
    const checks = Array.from({ length: 1000 }, (_, i) => limit(`key:k${i}:rps`, 1000, 60_000));
    await Promise.all(checks.map((check) => limits.apply([check])));
    expect(calls.get("reserveRateLimit")).toBe(1000);
    for (let second = 0; second < 60; second++) {
      now += 1000;
      limits.reserveDueAhead();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const batches = calls.get("reserveRateLimits")!;
    expect(batches).toBeLessThanOrEqual(60_000 / MAX_AHEAD_DELAY_MS + 1);
    const answers = checks.map((check) => {
      const start = windowStart(check, 10_000_000);
      now = start + 60_000;
      return limits.apply([check]);
    });
    expect(answers.every((answer) => !(answer instanceof Promise) && answer.admitted)).toBe(true);
    expect(calls.get("reserveRateLimit")).toBe(1000);
    expect(calls.get("reserveRateLimits")).toBe(batches);
    limits.stop();
  });

  it("sends a reservation held back for others at once when a request waits for it", async () => {
    const { store, calls } = countingStore();
    const check = limit("key:k:rps", 1600, 60_000);
    const start = windowStart(check, 10_000_000);
    let now = start + 1000;
    const limits = instance(store, () => now);
    await limits.apply([check]);
    now = start + 50_000;
    expect(limits.apply([check])).toMatchObject({ admitted: true });
    now = start + 60_000;
    const waited = performance.now();
    const answer = limits.apply([check]);
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toMatchObject({ admitted: true, outcomes: [{ resetAt: start + 120_000 }] });
    expect(performance.now() - waited).toBeLessThan(MAX_AHEAD_DELAY_MS);
    expect(calls.get("reserveRateLimits")).toBe(1);
    expect(calls.get("reserveRateLimit")).toBe(1);
    limits.stop();
  });

  it("admits exactly the limit of many requests waiting at once on one instance", async () => {
    const store = new MemoryStore();
    const check = limit("key:k:rps", 20, 60_000);
    const now = windowStart(check, 10_000_000);
    const limits = instance(store, () => now);
    const results = await Promise.all(Array.from({ length: 200 }, () => limits.apply([check])));
    expect(results.filter((result) => result.admitted)).toHaveLength(20);
    expect(results.filter((result) => !result.admitted).every((result) => result.outcomes[0]!.exceeded)).toBe(true);
  });

  it("answers from memory while the allowance lasts", async () => {
    const store = new MemoryStore();
    const check = limit("key:k:rps", 1600, 60_000);
    const now = windowStart(check, 10_000_000);
    const limits = instance(store, () => now);
    expect(limits.apply([check])).toBeInstanceOf(Promise);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(limits.apply([check])).toMatchObject({ admitted: true });
  });

  it("fails UNAVAILABLE when the store cannot count, and counts again once it can", async () => {
    const store = new MemoryStore();
    const reserve = store.reserveRateLimit;
    let down = true;
    const flaky = Object.assign(store, {
      reserveRateLimit: (...args: Parameters<MemoryStore["reserveRateLimit"]>) => (down ? Promise.reject(new Error("down")) : reserve(...args)),
    });
    const check = limit("key:k:rps", 10, 60_000);
    const now = windowStart(check, 10_000_000);
    const limits = instance(flaky, () => now);
    await expect(limits.apply([check])).rejects.toThrow("down");
    down = false;
    expect(await limits.apply([check])).toMatchObject({ admitted: true });
  });
});
