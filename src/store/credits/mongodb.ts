import type { Filter, UpdateFilter } from "mongodb";
import { applyCreditsUpdate, balances, decrementPlan } from "../../domain/credits.js";
import type { Credits, KeyRecord } from "../../domain/key.js";
import { updateKeyIf } from "../keys/mongodb.js";
import type { MongoTable, StoredDocument } from "../tables/mongodb.js";
import type { CreditStore } from "./index.js";

/** A balance spent from so fast that an update's condition keeps failing this often means something else is wrong. */
const MAX_CREDIT_UPDATE_ATTEMPTS = 20;
/** A $set of these fields, or nothing: not every server accepts an empty $set. */
const setting = (fields: Record<string, unknown>) => (Object.keys(fields).length > 0 ? { $set: fields } : {});

/** Credits are fields of the key's document (`credits.remaining`, `credits.shares.<name>`), changed by guarded updates of it. */
export function mongoCredits(keys: MongoTable<KeyRecord>): CreditStore {
  const getKey = (id: string) => keys.find({ id });
  const updateIf = (filter: Filter<StoredDocument>, update: UpdateFilter<StoredDocument>) => updateKeyIf(keys, filter, update);

  return {
    async spendCredits(id, cost) {
      const spent = await keys.collection.findOneAndUpdate(
        { _id: id, deletedAt: null, "credits.remaining": { $gte: cost } },
        { $inc: { "credits.remaining": -cost } },
        { returnDocument: "after", projection: { credits: 1 } },
      );
      if (spent?.credits) return { spent: true, ...balances(spent.credits as Credits) };
      const current = await keys.collection.findOne({ _id: id, deletedAt: null }, { projection: { credits: 1 } });
      return current?.credits ? { spent: false, ...balances(current.credits as Credits) } : null;
    },

    async refillCredits(id, periodStart, amount) {
      return updateIf(
        {
          _id: id,
          "credits.refill": { $ne: null },
          $or: [{ "credits.refill.lastRefillAt": null }, { "credits.refill.lastRefillAt": { $lt: periodStart } }],
        },
        { $set: { "credits.remaining": amount, "credits.refill.lastRefillAt": periodStart }, $unset: { "credits.shares": "" } },
      );
    },

    /**
     * One update of the key document, never a read-modify-write of the whole balance, so nothing a
     * holder does at the same time is lost: SET replaces the credits (voiding shares), INCREMENT is
     * one `$inc`, and a DECREMENT is one `$inc` of the unshared balance and of the shares it takes
     * units from (decrementPlan), each guarded to hold at least what it takes; one that a concurrent
     * change outran is planned again.
     */
    async updateCredits(id, update) {
      const live = { _id: id, deletedAt: null, revokedAt: null };
      const refill = update.refill === undefined ? {} : { "credits.refill": update.refill };
      const value = update.value ?? 0;
      for (let attempt = 0; attempt < MAX_CREDIT_UPDATE_ATTEMPTS; attempt++) {
        const current = attempt === 0 ? undefined : await getKey(id);
        if (current === null || current?.deletedAt || current?.revokedAt) return null;
        // Throws when no state of the key could take the update (no credits, or a balance past the limit).
        if (current) applyCreditsUpdate(current.credits, update);
        const steps: [Filter<StoredDocument>, UpdateFilter<StoredDocument>][] =
          update.operation === "set" && update.value === null
            ? [[live, { $set: { credits: null } }]]
            : update.operation === "set"
              ? [
                  [
                    { ...live, credits: { $ne: null } },
                    { $set: { "credits.remaining": value, ...refill }, $unset: { "credits.shares": "" } },
                  ],
                  [{ ...live, credits: null }, { $set: { credits: { remaining: value, refill: update.refill ?? null } } }],
                ]
              : update.operation === "increment"
                ? [
                    [
                      { ...live, credits: { $ne: null }, "credits.remaining": { $lte: Number.MAX_SAFE_INTEGER - value } },
                      { $inc: { "credits.remaining": value }, ...setting(refill) },
                    ],
                  ]
                : [decrementStep(live, current?.credits ?? { remaining: value }, value, refill)];
        for (const [filter, change] of steps) {
          if (await updateIf(filter, change)) return getKey(id);
        }
      }
      throw new Error(`credits of key ${id} kept changing under UpdateCredits`);
    },

    async takeCreditShare(id, share, units, claim, expiresAt) {
      return updateIf(
        { _id: id, deletedAt: null, "credits.remaining": { $gte: units } },
        { $inc: { "credits.remaining": -units }, $set: { [`credits.shares.${share}`]: { unclaimed: units - claim, expiresAt } } },
      );
    },

    async claimCredits(id, share, units, expiresAt) {
      const field = `credits.shares.${share}`;
      return updateIf(
        { _id: id, deletedAt: null, [`${field}.unclaimed`]: { $gte: units } },
        { $inc: { [`${field}.unclaimed`]: -units }, $set: { [`${field}.expiresAt`]: expiresAt } },
      );
    },

    /** The share's unclaimed units as read, guarded: a DECREMENT or a reclaim may change them meanwhile, and is then read again. */
    async returnCreditShare(id, share, unspent) {
      const field = `credits.shares.${share}`;
      for (let attempt = 0; attempt < MAX_CREDIT_UPDATE_ATTEMPTS; attempt++) {
        const unclaimed = (await getKey(id))?.credits?.shares?.[share]?.unclaimed;
        if (unclaimed === undefined) return false;
        if (
          await updateIf(
            { _id: id, deletedAt: null, [`${field}.unclaimed`]: unclaimed },
            { $inc: { "credits.remaining": unclaimed + unspent }, $unset: { [field]: "" } },
          )
        ) {
          return true;
        }
      }
      throw new Error(`credits of key ${id} kept changing while a share was returned`);
    },

    /** Each expired share is emptied only if it still holds what was read: its holder may be claiming from it right now. */
    async reclaimCreditShares(id, before) {
      const current = await getKey(id);
      let returned = 0;
      for (const [share, { unclaimed, expiresAt }] of Object.entries(current?.credits?.shares ?? {})) {
        if (expiresAt >= before || unclaimed === 0) continue;
        const field = `credits.shares.${share}`;
        const taken = await updateIf(
          { _id: id, [`${field}.unclaimed`]: unclaimed, [`${field}.expiresAt`]: expiresAt },
          { $inc: { "credits.remaining": unclaimed }, $set: { [`${field}.unclaimed`]: 0 } },
        );
        if (taken) returned += unclaimed;
      }
      return returned;
    },
  };
}

/**
 * A DECREMENT as one guarded `$inc`: from the unshared balance, then from the shares, as planned
 * from the credits as read (the first attempt plans from the unshared balance alone).
 */
function decrementStep(
  live: Filter<StoredDocument>,
  credits: Pick<Credits, "remaining" | "shares">,
  value: number,
  refill: Record<string, unknown>,
): [Filter<StoredDocument>, UpdateFilter<StoredDocument>] {
  const plan = decrementPlan(credits, value);
  const filter: Filter<StoredDocument> = { ...live, "credits.remaining": { $gte: plan.remaining } };
  const take: Record<string, number> = { "credits.remaining": -plan.remaining };
  for (const [share, units] of Object.entries(plan.shares)) {
    filter[`credits.shares.${share}.unclaimed`] = { $gte: units };
    take[`credits.shares.${share}.unclaimed`] = -units;
  }
  return [filter, { $inc: take, ...setting(refill) }];
}
