import type { KeyRecord, KeyStatus } from "../domain/key.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";

/**
 * Everything latchkey keeps. Each method is one single-document atomic operation (or a read),
 * so an adapter needs no transactions; the contract suite in test/store holds every adapter to it.
 * Records come back as copies: changing one never changes what is stored.
 */
export interface Store {
  /** Says in logs and test output which storage is in use. */
  readonly description: string;

  insertKeyspace(keyspace: KeyspaceRecord): Promise<void>;
  getKeyspace(id: string): Promise<KeyspaceRecord | null>;
  /** Ordered by id, which is creation order. */
  listKeyspaces(page: Page): Promise<KeyspaceRecord[]>;
  updateKeyspace(id: string, changes: Partial<KeyspaceRecord>): Promise<KeyspaceRecord | null>;
  deleteKeyspace(id: string): Promise<boolean>;

  /** Fails with ALREADY_EXISTS when the id or the digest is taken, soft-deleted keys included. */
  insertKey(key: KeyRecord): Promise<void>;
  /** Soft-deleted keys included. */
  getKey(id: string): Promise<KeyRecord | null>;
  /** Soft-deleted keys included. */
  findKeyByHash(hash: string): Promise<KeyRecord | null>;
  /** Soft-deleted keys excluded; ordered by id, which is creation order. */
  listKeys(filter: KeyFilter, page: Page): Promise<KeyRecord[]>;
  countLiveKeys(keyspaceId: string): Promise<number>;
  /** Applies the changes only where the guard holds; null when the key is missing or the guard fails. */
  updateKey(id: string, changes: Partial<KeyRecord>, guard: KeyGuard): Promise<KeyRecord | null>;
  /** Removes the key for good; returns what was removed, or null when there was nothing. */
  deleteKey(id: string): Promise<KeyRecord | null>;
  /** Removes every key of the keyspace, soft-deleted ones too; returns how many. */
  deleteKeysInKeyspace(keyspaceId: string): Promise<number>;

  /**
   * Spends `cost` credits when at least that many remain. Returns the balance afterwards and whether
   * it spent; null when the key is gone or has no credits.
   */
  spendCredits(id: string, cost: number): Promise<{ spent: boolean; remaining: number } | null>;
  /** Sets the balance to `amount` unless the key was refilled at or after `periodStart` already; says whether it did. */
  refillCredits(id: string, periodStart: Date, amount: number): Promise<boolean>;
  /** Moves last_used_at forward (never back) without counting as a change: updated_at stays. */
  recordKeyUse(uses: readonly KeyUse[]): Promise<void>;

  /** The change feed that tells every instance sharing this store which cached keys to drop. */
  appendChange(change: KeyChange): Promise<void>;
  /** Changes at or after `since`, oldest first. */
  changesSince(since: Date): Promise<KeyChange[]>;
  pruneChanges(before: Date): Promise<void>;

  close(): Promise<void>;
}

export interface KeyUse {
  id: string;
  at: Date;
}

/** Something changed that cached verifications must not outlive: a key (by id and digest), or a whole keyspace. */
export interface KeyChange {
  id: string;
  at: Date;
  keyId?: string;
  hash?: string;
  keyspaceId?: string;
}

export interface Page {
  /** Only records whose id sorts after this one. */
  after?: string;
  limit: number;
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
