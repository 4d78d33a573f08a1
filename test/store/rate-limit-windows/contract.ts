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

    it("counts a batch as it counts each reservation alone: to the limit and no further, in order, racing others", async () => {
      const shared = [window(50), window(50), window(3)];
      const batch = (units: number) => store.reserveRateLimits(shared.map((asked) => ({ window: asked, units })));
      const results = await Promise.all([
        ...Array.from({ length: 8 }, () => batch(4)),
        ...Array.from({ length: 8 }, () => store.reserveRateLimit(shared[0]!, 3)),
      ]);
      const batches = results.slice(0, 8) as { granted: number; used: number }[][];
      const alone = results.slice(8) as { granted: number; used: number }[];
      const grantedIn = (index: number) => batches.reduce((sum, counts) => sum + counts[index]!.granted, 0);
      expect(grantedIn(0) + alone.reduce((sum, count) => sum + count.granted, 0)).toBe(50);
      expect(grantedIn(1)).toBe(32);
      expect(grantedIn(2)).toBe(3);
      for (const counts of batches) {
        expect(counts).toHaveLength(3);
        counts.forEach((count, index) => expect(count.used).toBeLessThanOrEqual(shared[index]!.limit));
      }
      expect(
        await store.reserveRateLimits([
          { window: shared[2]!, units: 1 },
          { window: shared[1]!, units: 20 },
        ]),
      ).toEqual([
        { granted: 0, used: 3 },
        { granted: 18, used: 50 },
      ]);
      const counts = await store.countRateLimits(shared);
      expect(shared.map(({ id }) => counts.get(id))).toEqual([50, 50, 3]);
    });

    it("prunes windows that ended", async () => {
      const ended = window(5, new Date(Date.now() - 120_000));
      await store.reserveRateLimit(ended, 5);
      await store.pruneRateLimits(new Date(Date.now() - 60_000));
      expect(await store.reserveRateLimit(ended, 5)).toEqual({ granted: 5, used: 5 });
    });
  });
}
