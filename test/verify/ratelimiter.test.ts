import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { CELLS_PER_WINDOW } from "../../src/domain/sliding-window.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { MongoStore } from "../../src/store/mongodb.js";
import type { Store } from "../../src/store/store.js";
import { RatelimitOverrides } from "../../src/verify/ratelimit-overrides.js";
import { Ratelimiter } from "../../src/verify/ratelimiter.js";
import { SlidingRateLimits } from "../../src/verify/sliding-rate-limits.js";
import { countingStore } from "../support/counting-store.js";

const DURATION_MS = 60_000;
const CELL_MS = DURATION_MS / CELLS_PER_WINDOW;
/** Overrides are read once per namespace per instance (and again after their time limit, longer than these runs). */
const OVERRIDE_READS_PER_INSTANCE = 2;

/** Instances sharing one store, each with its own overrides and units in memory, on one clock. */
function instances(inner: Store, count: number) {
  const { store, calls } = countingStore(inner);
  const clock = { now: 1_700_000_000_000 };
  const log = createLogger("silent");
  const limiters = Array.from(
    { length: count },
    () =>
      new Ratelimiter(
        new RatelimitOverrides(store.ratelimits, { now: () => clock.now, ttlMs: 60_000 }),
        new SlidingRateLimits(store.ratelimits, { now: () => clock.now, log }),
      ),
  );
  const storeCalls = () => [...calls].filter(([method]) => method.startsWith("ratelimits.")).reduce((sum, [, made]) => sum + made, 0);
  return { limiters, clock, storeCalls, steps: () => calls.get("ratelimits.changeCells") ?? 0 };
}

/** `decisions` Limit calls over `identifiers`, in turn, alternating instances, one every `gapMs`: the store calls they made. */
async function run(inner: Store, { identifiers, decisions, gapMs }: { identifiers: number; decisions: number; gapMs: number }) {
  const { limiters, clock, storeCalls, steps } = instances(inner, 2);
  const start = clock.now;
  const names = Array.from({ length: identifiers }, (_, i) => `203.0.${Math.floor(i / 256)}.${i % 256}`);
  for (let i = 0; i < decisions; i++) {
    clock.now = start + Math.floor(i * gapMs);
    const answer = await limiters[i % 2]!.limit("ws_a", [
      { namespace: "bench", identifier: names[i % identifiers]!, limit: 1_000_000_000, durationMs: DURATION_MS, cost: 1 },
    ]);
    expect(answer.success).toBe(true);
  }
  return { storeCalls: storeCalls(), steps: steps() };
}

describe("Ratelimiter store calls", () => {
  it("makes one store step per decision for 10,000 identifiers each asked for once in a while, as npm run bench asks", async () => {
    // Each identifier comes back to an instance every 10 s, 8 cells later.
    const decisions = 20_000;
    const counted = await run(new MemoryStore(), { identifiers: 10_000, decisions, gapMs: 0.5 });
    expect(counted.steps).toBe(decisions);
    expect(counted.storeCalls).toBeLessThanOrEqual(decisions + 2 * OVERRIDE_READS_PER_INSTANCE);
  });

  it("makes one store step per decision for identifiers asked for once a cell on each instance", async () => {
    const identifiers = 1000;
    const decisions = 20_000;
    // Each instance sees each identifier once every 1.05 cells: in every cell, or nearly.
    const counted = await run(new MemoryStore(), { identifiers, decisions, gapMs: (1.05 * CELL_MS) / (2 * identifiers) });
    expect(counted.steps).toBeLessThanOrEqual(decisions);
    expect(counted.storeCalls).toBeLessThanOrEqual(decisions + 2 * OVERRIDE_READS_PER_INSTANCE);
  });

  it("makes a store step for at most every other decision for identifiers asked for three times a cell on each instance", async () => {
    const decisions = 20_000;
    const counted = await run(new MemoryStore(), { identifiers: 1000, decisions, gapMs: CELL_MS / (2 * 3 * 1000) });
    expect(counted.steps).toBeLessThanOrEqual(decisions / 2);
  });

  describe("on MongoDB", () => {
    let store: MongoStore;
    beforeAll(async () => {
      store = await MongoStore.connect(inject("mongoUri"), `latchkey_ratelimiter_${randomUUID()}`);
    });
    afterAll(async () => {
      await store.close();
    });

    it("makes one store call per decision for identifiers each asked for once in a while", async () => {
      const decisions = 2000;
      const counted = await run(store, { identifiers: 1000, decisions, gapMs: 5 });
      expect(counted.steps).toBe(decisions);
      expect(counted.storeCalls).toBeLessThanOrEqual(decisions + 2 * OVERRIDE_READS_PER_INSTANCE);
    });
  });
});

describe("Ratelimiter answers", () => {
  /** A limiter of its own on a store of its own, with an override for `vip`, telling each decision's limits to `told`. */
  async function limiter() {
    const store = new MemoryStore();
    const clock = { now: 1_700_000_000_000 };
    await store.ratelimits.overrides.insert({
      id: "rlo_vip",
      workspaceId: "ws_a",
      namespace: "login",
      identifier: "vip",
      limit: 3,
      durationMs: 10_000,
      createdAt: new Date(clock.now),
      updatedAt: new Date(clock.now),
    });
    const told: [string, boolean][] = [];
    const log = createLogger("silent");
    const ratelimiter = new Ratelimiter(
      new RatelimitOverrides(store.ratelimits, { now: () => clock.now, ttlMs: 60_000 }),
      new SlidingRateLimits(store.ratelimits, { now: () => clock.now, log }),
      (_, ask, success) => told.push([`${ask.namespace}/${ask.identifier}`, success]),
    );
    return { ratelimiter, clock, told };
  }

  it("answers a single limit as it answers the same limit beside another that always has room, overrides and refusals included", async () => {
    const alone = await limiter();
    const paired = await limiter();
    const roomy = { namespace: "other", identifier: "roomy", limit: 1_000_000_000, durationMs: 60_000, cost: 1 };
    for (const identifier of ["vip", "plain"]) {
      for (let i = 0; i < 8; i++) {
        alone.clock.now = paired.clock.now = 1_700_000_000_000 + i * 700;
        const ask = { namespace: "login", identifier, limit: 5, durationMs: 60_000, cost: i % 3 };
        const single = await alone.ratelimiter.limit("ws_a", [ask]);
        const both = await paired.ratelimiter.limit("ws_a", [ask, roomy]);
        expect(single.answers).toEqual([both.answers[0]]);
        expect(single.success).toBe(both.success);
        expect(single.answers[0]!.overrideId).toBe(identifier === "vip" ? "rlo_vip" : "");
      }
    }
    expect(
      alone.told.some(([, success]) => !success),
      "the asks should be refused at times",
    ).toBe(true);
    expect(alone.told).toEqual(paired.told.filter(([limit]) => limit !== "other/roomy"));
    expect(paired.told.filter(([limit]) => limit === "other/roomy")).toHaveLength(16);
  });
});
