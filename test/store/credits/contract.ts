import { describe, expect, it } from "vitest";
import { creditBalance } from "../../../src/domain/credits.js";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";
import { keyRecord } from "../../support/fixtures.js";
import { describeContract } from "../describe-contract.js";

/** What every adapter's CreditStore must do, on keys its KeyStore holds. */
export function creditsContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`CreditStore contract: ${name}`, openStore, (store) => {
    const withCredits = (remaining: number) =>
      keyRecord({
        createdAt: new Date(0),
        credits: { remaining, refill: { period: "daily", intervalMs: 0, dayOfMonth: 0, amount: 7, lastRefillAt: new Date(0) } },
      });

    it("spends exactly the credits there are, whatever the concurrency", async () => {
      const key = withCredits(50);
      await store.insertKey(key);
      const results = await Promise.all(Array.from({ length: 400 }, () => store.spendCredits(key.id, 1)));
      expect(results.filter((result) => result?.spent)).toHaveLength(50);
      expect(results.every((result) => result!.remaining >= 0)).toBe(true);
      expect((await store.getKey(key.id))!.credits!.remaining).toBe(0);
    });

    it("updates the balance without losing concurrent spends, stops a decrement at 0, and keeps or replaces the refill", async () => {
      const key = withCredits(100);
      await store.insertKey(key);
      await Promise.all([
        ...Array.from({ length: 30 }, () => store.spendCredits(key.id, 1)),
        ...Array.from({ length: 10 }, () => store.updateCredits(key.id, { operation: "increment", value: 5, refill: undefined })),
        ...Array.from({ length: 4 }, () => store.updateCredits(key.id, { operation: "decrement", value: 3, refill: undefined })),
      ]);
      expect((await store.getKey(key.id))!.credits).toEqual({ remaining: 100 - 30 + 50 - 12, refill: key.credits!.refill });
      expect((await store.updateCredits(key.id, { operation: "decrement", value: 1000, refill: undefined }))!.credits!.remaining).toBe(0);
      const refill = { period: "interval" as const, intervalMs: 60_000, dayOfMonth: 0, amount: 9, lastRefillAt: new Date(1000) };
      expect((await store.updateCredits(key.id, { operation: "set", value: 42, refill }))!.credits).toEqual({ remaining: 42, refill });
      expect((await store.updateCredits(key.id, { operation: "increment", value: 1, refill: null }))!.credits).toEqual({ remaining: 43, refill: null });
      expect((await store.updateCredits(key.id, { operation: "set", value: null, refill: undefined }))!.credits).toBeNull();
    });

    it("gives credits to a key without them only by SET, and changes nothing of deleted, revoked or missing keys", async () => {
      const unlimited = keyRecord();
      await store.insertKey(unlimited);
      await expect(store.updateCredits(unlimited.id, { operation: "increment", value: 1, refill: undefined })).rejects.toMatchObject({ reason: "NO_CREDITS" });
      expect((await store.updateCredits(unlimited.id, { operation: "set", value: 7, refill: undefined }))!.credits).toEqual({ remaining: 7, refill: null });
      const revoked = withCredits(5);
      await store.insertKey({ ...revoked, revokedAt: new Date() });
      expect(await store.updateCredits(revoked.id, { operation: "set", value: 1, refill: undefined })).toBeNull();
      expect((await store.getKey(revoked.id))!.credits!.remaining).toBe(5);
      expect(await store.updateCredits(newId("key", Date.now()), { operation: "set", value: 1, refill: undefined })).toBeNull();
    });

    it("refuses a cost above the balance without spending", async () => {
      const key = withCredits(5);
      await store.insertKey(key);
      expect(await store.spendCredits(key.id, 6)).toEqual({ spent: false, remaining: 5, unshared: 5 });
      expect(await store.spendCredits(key.id, 5)).toEqual({ spent: true, remaining: 0, unshared: 0 });
    });

    describe("shares", () => {
      const inAMinute = () => new Date(Date.now() + 60_000);
      const shares = async (id: string) => (await store.getKey(id))!.credits!.shares ?? {};

      it("hands out no more than the balance to holders taking and claiming at once", async () => {
        const key = withCredits(1000);
        await store.insertKey(key);
        const holders = ["h1", "h2", "h3", "h4"];
        const taken = await Promise.all(holders.map((holder) => store.takeCreditShare(key.id, holder, 300, 50, inAMinute())));
        expect(taken.filter(Boolean)).toHaveLength(3);
        const claims = await Promise.all(
          holders.flatMap((holder) => Array.from({ length: 20 }, () => store.claimCredits(key.id, holder, 30, inAMinute()).then((ok) => (ok ? 30 : 0)))),
        );
        const claimed = claims.reduce<number>((sum, units) => sum + units, 0);
        expect(claimed).toBe(3 * 240);
        const credits = (await store.getKey(key.id))!.credits!;
        expect(credits.remaining).toBe(100);
        expect(Object.values(credits.shares!).map((share) => share.unclaimed)).toEqual([10, 10, 10]);
        expect(await store.spendCredits(key.id, 101)).toEqual({ spent: false, remaining: 130, unshared: 100 });
        expect(await store.spendCredits(key.id, 100)).toEqual({ spent: true, remaining: 30, unshared: 0 });
      });

      it("gives a share back with what it still holds and the units claimed and not spent, once", async () => {
        const key = withCredits(1000);
        await store.insertKey(key);
        expect(await store.takeCreditShare(key.id, "h1", 100, 10, inAMinute())).toBe(true);
        await store.updateCredits(key.id, { operation: "decrement", value: 905, refill: undefined });
        expect(await store.returnCreditShare(key.id, "h1", 4)).toBe(true);
        expect((await store.getKey(key.id))!.credits!.remaining).toBe(1000 - 905 - 10 + 4);
        expect(await shares(key.id)).toEqual({});
        expect(await store.returnCreditShare(key.id, "h1", 4)).toBe(false);
        expect(await store.claimCredits(key.id, "h1", 1, inAMinute())).toBe(false);
      });

      it("voids shares on SET and on a refill; INCREMENT keeps them, DECREMENT takes from them past the unshared balance", async () => {
        const key = withCredits(1000);
        await store.insertKey(key);
        await store.takeCreditShare(key.id, "h1", 100, 0, inAMinute());
        await store.takeCreditShare(key.id, "h2", 100, 0, inAMinute());
        await store.updateCredits(key.id, { operation: "increment", value: 5, refill: undefined });
        const unclaimed = async () => Object.values(await shares(key.id)).map((share) => share.unclaimed);
        expect(await unclaimed()).toEqual([100, 100]);
        expect((await store.updateCredits(key.id, { operation: "decrement", value: 805, refill: undefined }))!.credits!.remaining).toBe(0);
        expect(await unclaimed()).toEqual([100, 100]);
        const decremented = await store.updateCredits(key.id, { operation: "decrement", value: 130, refill: undefined });
        expect(decremented!.credits!.remaining).toBe(0);
        expect(creditBalance(decremented!.credits!)).toBe(70);
        expect(await store.claimCredits(key.id, "h1", 1, inAMinute())).toBe(false);
        expect(await store.claimCredits(key.id, "h2", 70, inAMinute())).toBe(true);
        expect((await store.updateCredits(key.id, { operation: "decrement", value: 1, refill: undefined }))!.credits!.remaining).toBe(0);

        expect((await store.updateCredits(key.id, { operation: "set", value: 500, refill: undefined }))!.credits).toEqual({
          remaining: 500,
          refill: key.credits!.refill,
        });
        expect(await store.returnCreditShare(key.id, "h2", 70)).toBe(false);
        await store.takeCreditShare(key.id, "h3", 20, 0, inAMinute());
        expect(await store.refillCredits(key.id, new Date(86_400_000), 7)).toBe(true);
        expect((await store.getKey(key.id))!.credits!.shares ?? {}).toEqual({});
        expect(await store.claimCredits(key.id, "h3", 1, inAMinute())).toBe(false);
      });

      it("takes back only shares that expired, leaving them empty for their holders to end; a claim keeps a share from expiring", async () => {
        const key = withCredits(1000);
        await store.insertKey(key);
        const past = new Date(Date.now() - 60_000);
        await store.takeCreditShare(key.id, "slow", 100, 10, past);
        await store.takeCreditShare(key.id, "alive", 100, 10, past);
        await store.claimCredits(key.id, "alive", 10, inAMinute());
        expect(await store.reclaimCreditShares(key.id, new Date())).toBe(90);
        expect(await store.reclaimCreditShares(key.id, new Date())).toBe(0);
        expect((await store.getKey(key.id))!.credits!.remaining).toBe(890);
        expect((await shares(key.id)).slow!.unclaimed).toBe(0);
        expect(await store.claimCredits(key.id, "slow", 1, inAMinute())).toBe(false);
        expect(await store.returnCreditShare(key.id, "slow", 6)).toBe(true);
        expect((await store.getKey(key.id))!.credits!.remaining).toBe(896);
        expect(await store.claimCredits(key.id, "alive", 80, inAMinute())).toBe(true);
      });

      it("shares nothing of a deleted key", async () => {
        const key = withCredits(1000);
        await store.insertKey(key);
        await store.updateKey(key.id, { deletedAt: new Date() }, {});
        expect(await store.takeCreditShare(key.id, "h1", 100, 10, inAMinute())).toBe(false);
      });
    });

    it("has nothing to spend on keys without credits, deleted keys and missing keys", async () => {
      const unlimited = keyRecord();
      const deleted = withCredits(5);
      await store.insertKey(unlimited);
      await store.insertKey(deleted);
      await store.updateKey(deleted.id, { deletedAt: new Date() }, {});
      expect(await store.spendCredits(unlimited.id, 1)).toBeNull();
      expect(await store.spendCredits(deleted.id, 1)).toBeNull();
      expect(await store.spendCredits(newId("key", Date.now()), 1)).toBeNull();
    });

    it("refills once per period however many ask at once", async () => {
      const key = withCredits(0);
      await store.insertKey(key);
      const day = new Date(Date.UTC(2026, 0, 2));
      const results = await Promise.all(Array.from({ length: 20 }, () => store.refillCredits(key.id, day, 7)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.getKey(key.id))!.credits).toEqual({ remaining: 7, refill: { ...key.credits!.refill!, lastRefillAt: day } });
      await store.spendCredits(key.id, 3);
      expect(await store.refillCredits(key.id, day, 7)).toBe(false);
      expect(await store.refillCredits(key.id, new Date(Date.UTC(2026, 0, 3)), 7)).toBe(true);
      expect((await store.getKey(key.id))!.credits!.remaining).toBe(7);
      expect(await store.refillCredits(keyRecord().id, day, 7)).toBe(false);
    });
  });
}
