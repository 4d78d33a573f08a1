import { expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";
import { describeContract } from "../describe-contract.js";

/** What every adapter's RateLimitWindowStore must do. */
export function rateLimitWindowsContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`RateLimitWindowStore contract: ${name}`, openStore, (store) => {
    const window = (limit: number, endsAt = new Date(Date.now() + 60_000)) => ({ id: `w_${newId("key", Date.now())}`, limit, endsAt });

    it("counts up to the limit and no further, however many reserve at once", async () => {
      const shared = window(100);
      const results = await Promise.all(Array.from({ length: 40 }, () => store.reserveRateLimit(shared, 7)));
      expect(results.reduce((sum, result) => sum + result.granted, 0)).toBe(100);
      expect(results.every((result) => result.granted === 7 || result.granted < 7)).toBe(true);
      expect(await store.reserveRateLimit(shared, 1)).toEqual({ granted: 0, used: 100 });
      expect((await store.reserveRateLimit(window(100), 1)).granted).toBe(1);
      const counts = await store.countRateLimits([shared, window(100)]);
      expect([...counts]).toEqual([[shared.id, 100]]);
    });

    it("prunes windows that ended", async () => {
      const ended = window(5, new Date(Date.now() - 120_000));
      await store.reserveRateLimit(ended, 5);
      await store.pruneRateLimits(new Date(Date.now() - 60_000));
      expect(await store.reserveRateLimit(ended, 5)).toEqual({ granted: 5, used: 5 });
    });
  });
}
