import { randomBytes } from "node:crypto";
import type { Collection } from "mongodb";
import type { RateLimitWindow, Reservation } from "../../domain/fixed-window.js";
import { duplicateWrites, isDuplicateKey } from "../tables/mongodb.js";
import type { RateLimitWindowStore, ReservationCount } from "./index.js";

/**
 * `used` counts every unit asked for, so it may pass the limit: what was granted is the part below
 * it. `grants` lists every reservation's units in the order they were counted, each with a token
 * of the call that made it, so that a batch, whose writes answer nothing, can read back where each
 * of its reservations fell.
 */
export type RateLimitDocument = { _id: string; used: number; endsAt: Date; grants?: { t: string; u: number }[] };

export function mongoRateLimitWindows(windows: Collection<RateLimitDocument>): RateLimitWindowStore {
  const caller = randomBytes(6).toString("base64url");
  let sequence = 0;
  const count = ({ window, units }: Reservation, token: string) => ({
    $inc: { used: units },
    $push: { grants: { t: token, u: units } },
    $setOnInsert: { endsAt: window.endsAt },
  });
  /** The units of a reservation that fell below the limit, from the window's count before it. */
  const granted = ({ window, units }: Reservation, before: number, used: number): ReservationCount => ({
    granted: Math.max(0, Math.min(units, window.limit - before)),
    used: Math.min(used, window.limit),
  });

  /**
   * One unconditional `$inc` by `_id`: the units granted are those that fell below the limit. As
   * increments of one document are applied one at a time, their totals before each are distinct
   * and consecutive, so exactly `limit` units are granted in all. (A conditional filter on the
   * count would also work, but mongo-java-server scans the collection for an upsert it cannot match.)
   */
  const reserveOne = async (window: RateLimitWindow, units: number) => {
    const reservation = { window, units };
    const reserve = () =>
      windows.findOneAndUpdate({ _id: window.id }, count(reservation, caller), {
        upsert: true,
        returnDocument: "after",
        projection: { used: 1 },
      });
    // Two first reservations of a window can race to insert it; the loser's retry is an update.
    const counted = await reserve().catch((error: unknown) => {
      if (isDuplicateKey(error)) return reserve();
      throw error;
    });
    return granted(reservation, counted!.used - units, counted!.used);
  };

  return {
    reserveRateLimit: reserveOne,

    /**
     * The same `$inc` for each, in one unordered bulk write, then one read by `_id` of the windows:
     * a reservation's count before it is the window's count less the units listed from its own
     * token on. A window written by code that lists no grants only makes that count larger, so
     * such a read never grants more than `reserveRateLimit` would.
     */
    async reserveRateLimits(reservations) {
      if (reservations.length === 1) return [await reserveOne(reservations[0]!.window, reservations[0]!.units)];
      const tokens = reservations.map(() => `${caller}${(sequence++).toString(36)}`);
      let pending = reservations.map((_, index) => index);
      for (let attempt = 0; pending.length > 0; attempt++) {
        const writes = pending.map((index) => ({
          updateOne: { filter: { _id: reservations[index]!.window.id }, update: count(reservations[index]!, tokens[index]!), upsert: true },
        }));
        try {
          await windows.bulkWrite(writes, { ordered: false });
          pending = [];
        } catch (error) {
          // Two first reservations of a window can race to insert it; the losers' retry is an update.
          const raced = duplicateWrites(error);
          if (attempt > 0 || raced.length === 0) throw error;
          pending = raced.map((index) => pending[index]!);
        }
      }
      const ids = [...new Set(reservations.map(({ window }) => window.id))];
      const counted = new Map<string, RateLimitDocument>();
      for (const found of await windows.find({ _id: { $in: ids } }, { projection: { used: 1, grants: 1 } }).toArray()) counted.set(found._id, found);
      return reservations.map((reservation, index) => {
        const found = counted.get(reservation.window.id);
        const grants = found?.grants ?? [];
        const at = grants.findIndex((grant) => grant.t === tokens[index]);
        if (!found || at < 0) return { granted: 0, used: reservation.window.limit };
        let fromHere = 0;
        for (let later = at; later < grants.length; later++) fromHere += grants[later]!.u;
        return granted(reservation, found.used - fromHere, found.used);
      });
    },

    async countRateLimits(asked) {
      const counts = new Map<string, number>();
      for (const { id, limit } of asked) {
        const counted = await windows.findOne({ _id: id }, { projection: { used: 1 } });
        if (counted) counts.set(id, Math.min(counted.used, limit));
      }
      return counts;
    },

    async pruneRateLimits(before) {
      await windows.deleteMany({ endsAt: { $lt: before } });
    },
  };
}
