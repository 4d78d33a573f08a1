import { applyCreditsUpdate, balances } from "../../domain/credits.js";
import type { MemoryKeyRecords } from "../keys/memory.js";
import { copy } from "../tables/memory.js";
import type { CreditStore } from "./index.js";

export function memoryCredits(keys: MemoryKeyRecords): CreditStore {
  return {
    async spendCredits(id, cost) {
      const credits = keys.live(id)?.credits;
      if (!credits) return null;
      const spent = credits.remaining >= cost;
      if (spent) credits.remaining -= cost;
      return { spent, ...balances(credits) };
    },

    async refillCredits(id, periodStart, amount) {
      const credits = keys.byId.get(id)?.credits;
      const refill = credits?.refill;
      if (!credits || !refill || (refill.lastRefillAt && refill.lastRefillAt >= periodStart)) return false;
      credits.remaining = amount;
      delete credits.shares;
      refill.lastRefillAt = new Date(periodStart);
      return true;
    },

    async updateCredits(id, update) {
      const current = keys.byId.get(id);
      if (!current || current.deletedAt || current.revokedAt) return null;
      current.credits = structuredClone(applyCreditsUpdate(current.credits, update));
      return copy(current);
    },

    async takeCreditShare(id, share, units, claim, expiresAt) {
      const credits = keys.live(id)?.credits;
      if (!credits || credits.remaining < units) return false;
      credits.remaining -= units;
      (credits.shares ??= {})[share] = { unclaimed: units - claim, expiresAt: new Date(expiresAt) };
      return true;
    },

    async claimCredits(id, share, units, expiresAt) {
      const held = keys.live(id)?.credits?.shares?.[share];
      if (!held || held.unclaimed < units) return false;
      held.unclaimed -= units;
      held.expiresAt = new Date(expiresAt);
      return true;
    },

    async returnCreditShare(id, share, unspent) {
      const credits = keys.live(id)?.credits;
      const held = credits?.shares?.[share];
      if (!held) return false;
      credits!.remaining += held.unclaimed + unspent;
      delete credits!.shares![share];
      return true;
    },

    async reclaimCreditShares(id, before) {
      const credits = keys.live(id)?.credits;
      let returned = 0;
      for (const share of Object.values(credits?.shares ?? {})) {
        if (share.expiresAt >= before) continue;
        returned += share.unclaimed;
        credits!.remaining += share.unclaimed;
        share.unclaimed = 0;
      }
      return returned;
    },
  };
}
