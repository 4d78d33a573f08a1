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
  deleteKey(id: string): Promise<boolean>;
  /** Removes every key of the keyspace, soft-deleted ones too; returns how many. */
  deleteKeysInKeyspace(keyspaceId: string): Promise<number>;

  close(): Promise<void>;
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
