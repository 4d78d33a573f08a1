import type { RootKeyRecord } from "../../domain/access.js";
import { alreadyExists } from "../../domain/errors.js";
import { type KeyRecord, keyStatus } from "../../domain/key.js";
import type { RecordTable } from "../tables/index.js";
import { copy, paginate } from "../tables/memory.js";
import { type DigestSource, digestsOf, type KeyStore, type KeyUseRecorder, type SealedSecretStore } from "./index.js";

/** The keys of a memory store, shared with the capabilities that keep their state on keys (credits, grants). */
export class MemoryKeyRecords {
  readonly byId = new Map<string, KeyRecord>();
  /** Key ids by workspace and digest (current and previous secrets): digests are unique per workspace. */
  readonly idsByDigest = new Map<string, string>();

  /** The stored record itself, not a copy, unless the key is missing or soft-deleted. */
  live(id: string) {
    const key = this.byId.get(id);
    return key && !key.deletedAt ? key : undefined;
  }
}

const digestKey = (workspaceId: string, hash: string) => `${workspaceId} ${hash}`;

export function memoryKeys(keys: MemoryKeyRecords, rootKeys: RecordTable<RootKeyRecord>): KeyStore & KeyUseRecorder & DigestSource & SealedSecretStore {
  const allRootKeys = () => rootKeys.list({}, { limit: Number.MAX_SAFE_INTEGER });

  const deleteKey = async (id: string) => {
    const key = keys.byId.get(id);
    if (!key) return null;
    keys.byId.delete(id);
    for (const hash of digestsOf(key)) keys.idsByDigest.delete(digestKey(key.workspaceId, hash));
    return key;
  };

  return {
    async insertKey(key) {
      const digests = digestsOf(key).map((hash) => digestKey(key.workspaceId, hash));
      if (keys.byId.has(key.id) || digests.some((digest) => keys.idsByDigest.has(digest))) throw alreadyExists("a key with this id or secret already exists");
      keys.byId.set(key.id, structuredClone(key));
      for (const digest of digests) keys.idsByDigest.set(digest, key.id);
    },

    async getKey(id) {
      return copy(keys.byId.get(id));
    },

    async findKeyByHash(workspaceId, hash) {
      const key = keys.byId.get(keys.idsByDigest.get(digestKey(workspaceId, hash)) ?? "");
      return key && digestsOf(key).includes(hash) ? copy(key) : null;
    },

    async findKeysByIds(workspaceId, ids) {
      const found = new Map<string, KeyRecord>();
      for (const id of ids) {
        const key = keys.byId.get(id);
        if (key?.workspaceId === workspaceId) found.set(id, structuredClone(key));
      }
      return [...found.values()];
    },

    async replaceSecret(id, currentHash, next, previous, at) {
      const key = keys.byId.get(id);
      if (!key || key.deletedAt || key.revokedAt || key.hash !== currentHash) return null;
      const nextDigest = digestKey(key.workspaceId, next.hash);
      if (keys.idsByDigest.has(nextDigest)) throw alreadyExists("a key with this secret already exists");
      if (key.previousSecret) keys.idsByDigest.delete(digestKey(key.workspaceId, key.previousSecret.hash));
      keys.idsByDigest.set(nextDigest, id);
      Object.assign(key, { ...structuredClone(next), previousSecret: structuredClone(previous), updatedAt: new Date(at) });
      return copy(key);
    },

    async countDigests() {
      return keys.idsByDigest.size + (await allRootKeys()).length;
    },

    async *digests() {
      for (const key of [...keys.byId.values()]) yield* digestsOf(key);
      for (const rootKey of await allRootKeys()) yield rootKey.hash;
    },

    async listKeys(filter, page) {
      const matches = [...keys.byId.values()].filter(
        (key) =>
          key.keyspaceId === filter.keyspaceId &&
          !key.deletedAt &&
          (filter.ownerId === undefined || key.ownerId === filter.ownerId) &&
          (filter.externalId === undefined || key.externalId === filter.externalId) &&
          (filter.status === undefined || keyStatus(key, filter.now) === filter.status),
      );
      return paginate(matches, page);
    },

    async countLiveKeys(keyspaceId) {
      return [...keys.byId.values()].filter((key) => key.keyspaceId === keyspaceId && !key.deletedAt).length;
    },

    async countLiveKeysOfIdentity(workspaceId, externalId) {
      return [...keys.byId.values()].filter((key) => key.workspaceId === workspaceId && key.externalId === externalId && !key.deletedAt).length;
    },

    async updateKey(id, changes, guard) {
      const current = keys.byId.get(id);
      if (!current || (guard.notDeleted && current.deletedAt) || (guard.notRevoked && current.revokedAt)) return null;
      Object.assign(current, structuredClone(changes));
      return copy(current);
    },

    async keysSealedOtherwise(kekId, page) {
      const sealed = [...keys.byId.values()].filter((key) => key.sealedSecret && key.sealedSecret.kekId !== kekId).sort((a, b) => (a.id < b.id ? -1 : 1));
      return paginate(sealed, page);
    },

    async replaceSealedSecret(id, current, next) {
      const key = keys.byId.get(id);
      if (!key?.sealedSecret || key.sealedSecret.ciphertext !== current.ciphertext) return false;
      key.sealedSecret = structuredClone(next);
      return true;
    },

    deleteKey,

    async deleteKeysInKeyspace(keyspaceId) {
      const ids = [...keys.byId.values()].filter((key) => key.keyspaceId === keyspaceId).map((key) => key.id);
      for (const id of ids) await deleteKey(id);
      return ids.length;
    },

    async recordKeyUse(uses) {
      for (const { id, at } of uses) {
        const key = keys.byId.get(id);
        if (key && (!key.lastUsedAt || key.lastUsedAt < at)) key.lastUsedAt = new Date(at);
      }
    },
  };
}
