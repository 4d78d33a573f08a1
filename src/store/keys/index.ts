import type { KeyRecord, KeyStatus, PreviousSecret } from "../../domain/key.js";
import type { SealedSecret } from "../../domain/secret-vault.js";
import type { Page } from "../tables/index.js";

/** What verification reads: a key by id, or by a digest it answers to. */
export interface KeyLookup {
  /** Soft-deleted keys included. */
  getKey(id: string): Promise<KeyRecord | null>;
  /**
   * The workspace's key with this secret, or the previous secret a reroll left it; soft-deleted
   * keys included. One read, found or not, so the time it takes tells nothing.
   */
  findKeyByHash(workspaceId: string, hash: string): Promise<KeyRecord | null>;
  /**
   * The workspace's keys with these ids, soft-deleted keys included, in no particular order; ids of
   * missing keys and of other workspaces' keys are left out. One read however many ids, for
   * refreshing cached keys in a batch: on MongoDB a query of `_id` alone, which every server answers
   * from the id index (a query with any other field is a scan per id on some).
   */
  findKeysByIds(workspaceId: string, ids: readonly string[]): Promise<KeyRecord[]>;
}

export interface KeyStore extends KeyLookup {
  /**
   * Fails with ALREADY_EXISTS when the id is taken, or the digest is the secret or previous secret
   * of another key of the same workspace, soft-deleted keys included. Digests are unique per
   * workspace only: what another workspace holds is never revealed nor blocked by it.
   */
  insertKey(key: KeyRecord): Promise<void>;
  /** Soft-deleted keys excluded; ordered by id, which is creation order. */
  listKeys(filter: KeyFilter, page: Page): Promise<KeyRecord[]>;
  countLiveKeys(keyspaceId: string): Promise<number>;
  countLiveKeysOfIdentity(workspaceId: string, externalId: string): Promise<number>;
  /** Applies the changes only where the guard holds; null when the key is missing or the guard fails. */
  updateKey(id: string, changes: Partial<KeyRecord>, guard: KeyGuard): Promise<KeyRecord | null>;
  /**
   * Gives a live key the secret `next`, keeping the one it has as `previous`, only while its secret
   * is still `currentHash` (of two rerolls at once, one wins). Null when there is no such key;
   * ALREADY_EXISTS when `next` is another digest of the workspace's keys.
   */
  replaceSecret(
    id: string,
    currentHash: string,
    next: Pick<KeyRecord, "hash" | "start" | "sealedSecret">,
    previous: PreviousSecret,
    at: Date,
  ): Promise<KeyRecord | null>;
  /** Removes the key for good; returns what was removed, or null when there was nothing. */
  deleteKey(id: string): Promise<KeyRecord | null>;
  /** Removes every key of the keyspace, soft-deleted ones too; returns how many. */
  deleteKeysInKeyspace(keyspaceId: string): Promise<number>;
}

export interface KeyUseRecorder {
  /** Moves last_used_at forward (never back) without counting as a change: updated_at stays. */
  recordKeyUse(uses: readonly KeyUse[]): Promise<void>;
}

/** Every digest the store holds, for the known-digest filter. */
export interface DigestSource {
  /** About how many digests `digests` yields: it sizes the known-digest filter. */
  countDigests(): Promise<number>;
  /** The digest of every key (previous secrets included) and root key, in no particular order, streamed. */
  digests(): AsyncIterable<string>;
}

/** Resealing secrets under a new key-encryption key. */
export interface SealedSecretStore {
  /** Keys whose secret is sealed with a key-encryption key other than `kekId`, ordered by id, after `page.after`. */
  keysSealedOtherwise(kekId: string, page: Page): Promise<KeyRecord[]>;
  /** Replaces the key's sealed secret, only while it is still `current`; says whether it did. */
  replaceSealedSecret(id: string, current: SealedSecret, next: SealedSecret): Promise<boolean>;
}

export interface KeyUse {
  id: string;
  at: Date;
}

export interface KeyFilter {
  keyspaceId: string;
  ownerId?: string;
  externalId?: string;
  /** Status as of `now`. */
  status?: KeyStatus;
  now: number;
}

export interface KeyGuard {
  notDeleted?: boolean;
  notRevoked?: boolean;
}

/** Every digest a key answers to: its secret's, and its previous secret's after a reroll. */
export const digestsOf = (key: Pick<KeyRecord, "hash" | "previousSecret">) => (key.previousSecret ? [key.hash, key.previousSecret.hash] : [key.hash]);
