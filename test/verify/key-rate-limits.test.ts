import { describe, expect, it } from "vitest";
import { windowStart } from "../../src/domain/fixed-window.js";
import { limitCounter, type RateLimitAlgorithm } from "../../src/domain/key-rate-limits.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { type KeyLimitCheck, KeyRateLimits } from "../../src/verify/key-rate-limits.js";
import { SharedRateLimits } from "../../src/verify/shared-rate-limits.js";
import { SlidingRateLimits } from "../../src/verify/sliding-rate-limits.js";

const check = (name: string, limit: number, durationMs: number, algorithm: RateLimitAlgorithm, id = "key_a"): KeyLimitCheck => ({
  workspaceId: "ws_a",
  counter: limitCounter("key", id, name),
  name,
  limit,
  durationMs,
  algorithm,
});

/** Instances on one store and one clock, as replicas on one database. */
function instances(count: number, clock: { now: number }, store = new MemoryStore()) {
  const log = createLogger("silent");
  return Array.from(
    { length: count },
    () => new KeyRateLimits(new SharedRateLimits(store, { now: () => clock.now, log }), new SlidingRateLimits(store.ratelimits, { now: () => clock.now, log })),
  );
}

describe("KeyRateLimits", () => {
  it("counts a sliding-window limit at most `limit` within any span of its duration across 2 instances, where a fixed window admits twice that across a boundary", async () => {
    const durationMs = 10_000;
    const limit = 50;
    const admittedBy = async (algorithm: RateLimitAlgorithm) => {
      const clock = { now: 0 };
      const limits = instances(2, clock);
      const key = check("api", limit, durationMs, algorithm);
      const boundary = windowStart(key, 50_000_000) + durationMs;
      const admitted: number[] = [];
      // 300 calls within 141 ms either side of a fixed window's boundary, over two instances, as issue 23 reports.
      for (let i = 0; i < 300; i++) {
        clock.now = boundary - 70 + Math.floor((i * 141) / 300);
        if ((await limits[i % 2]!.apply([key])).admitted) admitted.push(clock.now);
      }
      return admitted.length;
    };
    expect(await admittedBy("fixed_window")).toBe(2 * limit);
    expect(await admittedBy("sliding_window")).toBeLessThanOrEqual(limit);
    expect(await admittedBy("sliding_window")).toBeGreaterThanOrEqual(limit - 2);
  });

  it("answers outcomes in the order of the checks, and spends no sliding unit when a fixed limit refuses", async () => {
    const clock = { now: 60_000_000 };
    const [limits] = instances(1, clock);
    const sliding = check("sliding", 10, 60_000, "sliding_window");
    const fixed = check("fixed", 2, 60_000, "fixed_window");
    clock.now = windowStart(fixed, clock.now) + 1000;
    for (let i = 0; i < 2; i++) expect((await limits!.apply([fixed, sliding])).admitted).toBe(true);
    const refused = await limits!.apply([fixed, sliding]);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes.map((outcome) => [outcome.name, outcome.exceeded])).toEqual([
      ["fixed", true],
      ["sliding", false],
    ]);
    expect(refused.outcomes[1]!.remaining).toBe(8);
    // What the refused requests did not spend is still there: eight more fit the sliding limit alone.
    for (let i = 0; i < 5; i++) expect((await limits!.apply([fixed, sliding])).admitted).toBe(false);
    let admitted = 0;
    for (let i = 0; i < 20; i++) if ((await limits!.apply([sliding])).admitted) admitted++;
    expect(admitted).toBe(8);
  });

  it("counts nothing in a fixed limit when a sliding one refuses", async () => {
    const clock = { now: 70_000_000 };
    const [limits] = instances(1, clock);
    const sliding = check("sliding", 1, 60_000, "sliding_window");
    const fixed = check("fixed", 5, 60_000, "fixed_window");
    clock.now = windowStart(fixed, clock.now) + 1000;
    expect((await limits!.apply([sliding, fixed])).admitted).toBe(true);
    const refused = await limits!.apply([sliding, fixed]);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes.map((outcome) => [outcome.name, outcome.exceeded])).toEqual([
      ["sliding", true],
      ["fixed", false],
    ]);
    let admitted = 0;
    for (let i = 0; i < 10; i++) if ((await limits!.apply([fixed])).admitted) admitted++;
    expect(admitted).toBe(4);
  });

  it("never shares a counter with a RatelimitService identifier of the same name", async () => {
    const clock = { now: 80_000_000 };
    const store = new MemoryStore();
    const [limits] = instances(1, clock, store);
    const key = check("api", 1, 60_000, "sliding_window");
    expect((await limits!.apply([key])).admitted).toBe(true);
    const limiter = new SlidingRateLimits(store.ratelimits, { now: () => clock.now, log: createLogger("silent") });
    const [namespace, ...identifier] = key.counter.split(":");
    const same = { workspaceId: "ws_a", counter: `${namespace}:${identifier.join(":")}`, limit: 1, durationMs: 60_000, cost: 1 };
    expect((await limiter.apply([same])).admitted).toBe(true);
  });
});
