import type { Collection } from "mongodb";
import { isDuplicateKey } from "../tables/mongodb.js";
import type { RateLimitWindowStore } from "./index.js";

/** `used` counts every unit asked for, so it may pass the limit: what was granted is the part below it. */
export type RateLimitDocument = { _id: string; used: number; endsAt: Date };

export function mongoRateLimitWindows(windows: Collection<RateLimitDocument>): RateLimitWindowStore {
  return {
    /**
     * One unconditional `$inc` by `_id`: the units granted are those that fell below the limit. As
     * increments of one document are applied one at a time, their totals before each are distinct
     * and consecutive, so exactly `limit` units are granted in all. (A conditional filter on the
     * count would also work, but mongo-java-server scans the collection for an upsert it cannot match.)
     */
    async reserveRateLimit(window, units) {
      const reserve = () =>
        windows.findOneAndUpdate(
          { _id: window.id },
          { $inc: { used: units }, $setOnInsert: { endsAt: window.endsAt } },
          { upsert: true, returnDocument: "after", projection: { used: 1 } },
        );
      // Two first reservations of a window can race to insert it; the loser's retry is an update.
      const counted = await reserve().catch((error: unknown) => {
        if (isDuplicateKey(error)) return reserve();
        throw error;
      });
      const before = counted!.used - units;
      return { granted: Math.max(0, Math.min(units, window.limit - before)), used: Math.min(counted!.used, window.limit) };
    },

    async countRateLimits(asked) {
      const counts = new Map<string, number>();
      for (const { id, limit } of asked) {
        const counted = await windows.findOne({ _id: id });
        if (counted) counts.set(id, Math.min(counted.used, limit));
      }
      return counts;
    },

    async pruneRateLimits(before) {
      await windows.deleteMany({ endsAt: { $lt: before } });
    },
  };
}
