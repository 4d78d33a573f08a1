import type { Filter, UpdateFilter } from "mongodb";
import type { RootKeyRecord } from "../../domain/access.js";
import type { KeyRecord } from "../../domain/key.js";
import { afterFilter, type MongoTable, rejectDuplicates, type StoredDocument } from "../tables/mongodb.js";
import { type DigestSource, digestsOf, type KeyFilter, type KeyStore, type KeyUseRecorder, type SealedSecretStore } from "./index.js";

/** Keys in one reply to a read by ids (findKeysByIds). */
const KEYS_PER_REPLY = 100;

/**
 * One conditional update of a key; says whether the condition held. findOneAndUpdate rather
 * than updateOne: mongo-java-server finds the document by its _id index only for the former
 * when the filter has other conditions too (a scan of every key otherwise).
 */
export async function updateKeyIf(keys: MongoTable<KeyRecord>, filter: Filter<StoredDocument>, update: UpdateFilter<StoredDocument>): Promise<boolean> {
  return (await keys.collection.findOneAndUpdate(filter, update, { projection: { _id: 1 } })) !== null;
}

export function mongoKeys(tables: {
  keys: MongoTable<KeyRecord>;
  rootKeys: MongoTable<RootKeyRecord>;
}): KeyStore & KeyUseRecorder & DigestSource & SealedSecretStore {
  const { keys, rootKeys } = tables;
  return {
    async insertKey(key) {
      await rejectDuplicates(
        () => keys.collection.insertOne({ ...keys.toDocument(key), digests: digestsOf(key) }),
        "a key with this id or secret already exists",
      );
    },

    async getKey(id) {
      return keys.find({ id });
    },

    /** One read of the per-workspace unique index of every digest: an $or of the two fields would scan on some servers when nothing matches. */
    async findKeyByHash(workspaceId, hash) {
      return keys.fromDocument(await keys.collection.findOne({ workspaceId, digests: hash }));
    },

    /**
     * The id alone in the query, so mongo-java-server too reads the id index; the workspace is checked
     * here. In replies of at most KEYS_PER_REPLY: the driver decodes a reply in one go, and the
     * hundreds of keys of a refresh in one reply held every answer waiting behind them; these reads
     * run in the background, where a round trip more costs no caller anything.
     */
    async findKeysByIds(workspaceId, ids) {
      if (ids.length === 0) return [];
      const unique = [...new Set(ids)];
      const documents = await keys.collection.find({ _id: { $in: unique } }, { batchSize: Math.min(unique.length, KEYS_PER_REPLY) }).toArray();
      return documents.filter((document) => document.workspaceId === workspaceId).map((document) => keys.fromDocument(document)!);
    },

    async replaceSecret(id, currentHash, next, previous, at) {
      const replaced = await rejectDuplicates(
        () =>
          keys.collection.findOneAndUpdate(
            { _id: id, deletedAt: null, revokedAt: null, hash: currentHash },
            {
              $set: {
                hash: next.hash,
                start: next.start,
                sealedSecret: next.sealedSecret ?? null,
                previousSecret: previous,
                digests: digestsOf({ hash: next.hash, previousSecret: previous }),
                updatedAt: at,
              },
            },
            { returnDocument: "after" },
          ),
        "a key with this secret already exists",
      );
      return keys.fromDocument(replaced);
    },

    async countDigests() {
      const counts = await Promise.all([keys.collection.estimatedDocumentCount(), rootKeys.collection.estimatedDocumentCount()]);
      return counts[0] + counts[1];
    },

    async *digests() {
      for (const table of [keys, rootKeys]) {
        const documents = table.collection.find({}, { projection: { _id: 0, hash: 1, "previousSecret.hash": 1 }, batchSize: 10_000 });
        for await (const document of documents) {
          yield document.hash as string;
          if (document.previousSecret) yield document.previousSecret.hash as string;
        }
      }
    },

    async listKeys(filter, page) {
      const query: Filter<StoredDocument> = { keyspaceId: filter.keyspaceId, deletedAt: null, ...afterFilter(page) };
      if (filter.ownerId !== undefined) query.ownerId = filter.ownerId;
      if (filter.externalId !== undefined) query.externalId = filter.externalId;
      if (filter.status !== undefined) Object.assign(query, statusFilter(filter.status, new Date(filter.now)));
      const documents = await keys.collection.find(query).sort({ _id: 1 }).limit(page.limit).toArray();
      return documents.map((document) => keys.fromDocument(document)!);
    },

    async countLiveKeys(keyspaceId) {
      return keys.collection.countDocuments({ keyspaceId, deletedAt: null });
    },

    async countLiveKeysOfIdentity(workspaceId, externalId) {
      return keys.collection.countDocuments({ workspaceId, externalId, deletedAt: null });
    },

    async updateKey(id, changes, guard) {
      return keys.update({ id, ...(guard.notDeleted && { deletedAt: null }), ...(guard.notRevoked && { revokedAt: null }) }, changes);
    },

    async keysSealedOtherwise(kekId, page) {
      const documents = await keys.collection
        .find({ sealedSecret: { $ne: null }, "sealedSecret.kekId": { $ne: kekId }, ...afterFilter(page) })
        .sort({ _id: 1 })
        .limit(page.limit)
        .toArray();
      return documents.map((document) => keys.fromDocument(document)!);
    },

    async replaceSealedSecret(id, current, next) {
      return updateKeyIf(keys, { _id: id, "sealedSecret.ciphertext": current.ciphertext }, { $set: { sealedSecret: next } });
    },

    async deleteKey(id) {
      return keys.delete({ id });
    },

    async deleteKeysInKeyspace(keyspaceId) {
      return (await keys.collection.deleteMany({ keyspaceId })).deletedCount;
    },

    async recordKeyUse(uses) {
      if (uses.length === 0) return;
      await keys.collection.bulkWrite(
        // $max moves the time forward only; a filter of the id alone lets every server use its _id index.
        uses.map(({ id, at }) => ({ updateOne: { filter: { _id: id }, update: { $max: { lastUsedAt: at } } } })),
        { ordered: false },
      );
    },
  };
}

/** Mirrors domain/key.ts keyStatus: revoked, then disabled, then expired. */
function statusFilter(status: KeyFilter["status"], now: Date): Filter<StoredDocument> {
  switch (status) {
    case "revoked":
      return { revokedAt: { $ne: null } };
    case "disabled":
      return { revokedAt: null, enabled: false };
    case "expired":
      return { revokedAt: null, enabled: true, expiresAt: { $ne: null, $lte: now } };
    default:
      return { revokedAt: null, enabled: true, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] };
  }
}
