import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../src/store/memory.js";
import { testApi } from "../../support/api.js";

const tenantLimit = { namespace: "api", identifier: "tenant-1", limit: 1000n, durationMs: 60_000n };
const exportLimit = { namespace: "exports", identifier: "tenant-1", limit: 10n, durationMs: 60_000n };

describe("RatelimitService.MultiLimit", () => {
  it("spends in every limit or in none, under concurrent calls on two instances", async () => {
    const store = new MemoryStore();
    const first = testApi(store);
    const { secret } = await first.workspace();
    const instances = [first, testApi(store).as(secret)];
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => instances[i % 2]!.ratelimits.multiLimit({ limits: [tenantLimit, exportLimit] })));
    const succeeded = answers.filter((answer) => answer.success).length;
    expect(succeeded).toBeLessThanOrEqual(10);
    expect(succeeded).toBeGreaterThan(0);
    for (const answer of answers.filter((answer) => !answer.success)) expect(answer.results.map((result) => result.success)).toEqual([true, false]);
    // The tenant limit spent exactly once per success: draining it on both instances finds the rest.
    let drained = 0;
    for (const instance of instances) {
      while ((await instance.ratelimits.limit(tenantLimit)).success) drained++;
    }
    expect(succeeded + drained).toBe(1000);
  });

  it("counts two limits of one request on the same counter once, with their costs added", async () => {
    const api = testApi();
    const same = { namespace: "api", identifier: "tenant-2", limit: 5n, durationMs: 60_000n };
    const answer = await api.ratelimits.multiLimit({
      limits: [
        { ...same, cost: 2n },
        { ...same, cost: 2n },
      ],
    });
    expect(answer.success).toBe(true);
    expect(answer.results.map((result) => result.remaining)).toEqual([1n, 1n]);
    expect((await api.ratelimits.multiLimit({ limits: [same, same] })).success).toBe(false);
    expect((await api.ratelimits.limit(same)).success).toBe(true);
  });
});
