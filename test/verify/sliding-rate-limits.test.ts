import { describe, expect, it } from "vitest";
import { CELLS_PER_WINDOW } from "../../src/domain/sliding-window.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryRatelimits } from "../../src/store/ratelimits/memory.js";
import { SlidingRateLimits } from "../../src/verify/sliding-rate-limits.js";

const check = { workspaceId: "ws_a", counter: "logins:203.0.113.7", limit: 100, durationMs: 1000, cost: 1 };
const cellMs = check.durationMs / CELLS_PER_WINDOW;

describe("SlidingRateLimits", () => {
  it("admits requests whose store steps take longer than a cell, counting each in the cell it arrived in", async () => {
    const clock = { now: 1_000_000 };
    const store = new MemoryRatelimits();
    const slow = Object.assign(Object.create(store) as MemoryRatelimits, {
      changeCells: async (...args: Parameters<MemoryRatelimits["changeCells"]>) => {
        // Each step answers three cells later, as a loaded database does.
        clock.now += 3 * cellMs;
        return store.changeCells(...args);
      },
    });
    const limits = new SlidingRateLimits(slow, { now: () => clock.now, log: createLogger("silent") });
    const answers = await Promise.all(Array.from({ length: 20 }, () => limits.apply([check])));
    expect(answers.every((answer) => answer.admitted)).toBe(true);
  });

  it("refuses without a store step once the cell is known full, and fails when the store does", async () => {
    const clock = { now: 2_000_000 };
    const store = new MemoryRatelimits();
    let steps = 0;
    const counted = Object.assign(Object.create(store) as MemoryRatelimits, {
      changeCells: (...args: Parameters<MemoryRatelimits["changeCells"]>) => {
        steps++;
        return store.changeCells(...args);
      },
    });
    const limits = new SlidingRateLimits(counted, { now: () => clock.now, log: createLogger("silent") });
    const tight = { ...check, limit: 2 };
    for (let i = 0; i < 2; i++) expect((await limits.apply([tight])).admitted).toBe(true);
    expect((await limits.apply([tight])).admitted).toBe(false);
    const before = steps;
    for (let i = 0; i < 50; i++) expect((await limits.apply([tight])).admitted).toBe(false);
    expect(steps).toBe(before);

    const failing = Object.assign(Object.create(store) as MemoryRatelimits, { changeCells: async () => Promise.reject(new Error("down")) });
    const broken = new SlidingRateLimits(failing, { now: () => clock.now, log: createLogger("silent") });
    await expect(Promise.resolve(broken.apply([check]))).rejects.toThrow("down");
  });
});
