import type { Collection } from "mongodb";
import { isDuplicateKey } from "../tables/mongodb.js";
import type { ChangeLog, KeyChange } from "./index.js";

export type ChangeDocument = Omit<KeyChange, "seq"> & { _id: number };
/** Instances racing for change numbers each win one per round; this many rounds lost means something else is wrong. */
const MAX_NUMBERING_ATTEMPTS = 100;

export function mongoChangeLog(changes: Collection<ChangeDocument>): ChangeLog {
  const lastChangeSeq = async () => {
    const [latest] = await changes
      .find({ _id: { $gt: 0 } }, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .limit(1)
      .toArray();
    return latest?._id ?? 0;
  };

  return {
    /**
     * Takes the number after the highest stored, by inserting under it: the unique _id decides
     * between instances that try the same number, and the loser tries the next. (A counter document
     * moved with findOneAndUpdate would do, but not every server returns the incremented value
     * atomically: mongo-java-server handed two callers the same number.) A number is only ever
     * written after the one below it, so readers see no holes.
     */
    async appendChange(change) {
      let seq = (await lastChangeSeq()) + 1;
      for (let attempt = 0; ; attempt++) {
        try {
          await changes.insertOne({ _id: seq, ...change });
          return seq;
        } catch (error) {
          if (!isDuplicateKey(error) || attempt >= MAX_NUMBERING_ATTEMPTS) throw error;
          seq = Math.max(seq, await lastChangeSeq()) + 1;
        }
      }
    },

    async changesAfter(after, limit) {
      const documents = await changes
        .find({ _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(limit)
        .toArray();
      return documents.map(({ _id, ...rest }) => ({ seq: _id, ...rest }));
    },

    lastChangeSeq,

    /** The latest change is kept, however old: it carries the count on. */
    async pruneChanges(before) {
      await changes.deleteMany({ at: { $lt: before }, _id: { $lt: await lastChangeSeq() } });
    },
  };
}
