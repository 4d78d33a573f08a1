import type { RootKeyRecord } from "../domain/access.js";
import type { AuditEventRecord, AuditFilter } from "../domain/audit.js";
import type { IdempotentRequestRecord } from "../domain/idempotency.js";
import type { IdentityRecord } from "../domain/identity.js";
import type { KeyRecord, KeyStatus, PreviousSecret } from "../domain/key.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import type { CreditsUpdate } from "../domain/credits.js";
import type { RateLimitWindow } from "../domain/rate-limiter.js";
import type { RatelimitStore } from "./ratelimit-store.js";
import type { SealedSecret } from "../domain/secret-vault.js";
import type { GrantChange, GrantKind, PermissionRecord, RoleRecord } from "../domain/rbac.js";
import type { WorkspaceRecord } from "../domain/workspace.js";
import type { AnalyticsStore } from "./analytics.js";

/**
 * Everything latchkey keeps. Each method is one single-document atomic operation (or a read),
 * except the two that sweep many records (deleteKeysInKeyspace, removeGrantEverywhere): those are
 * atomic per document and safe to repeat. So an adapter needs no transactions; the contract suite
 * in test/store holds every adapter to it.
 * Records come back as copies: changing one never changes what is stored.
 */
export interface Store {
  /** Says in logs and test output which storage is in use. */
  readonly description: string;

  readonly workspaces: RecordTable<WorkspaceRecord>;
  /** Unique: hash. */
  readonly rootKeys: RecordTable<RootKeyRecord>;
  readonly keyspaces: RecordTable<KeyspaceRecord>;
  /** Unique: workspace and external id. */
  readonly identities: RecordTable<IdentityRecord>;
  /** Unique: workspace and name. */
  readonly roles: RecordTable<RoleRecord>;
  /** Unique: workspace and name. */
  readonly permissions: RecordTable<PermissionRecord>;
  /** Rate limiting as a service: namespaces, overrides and sliding-window counters. */
  readonly ratelimits: RatelimitStore;
  /** Answers kept for retries of requests with a request_id. */
  readonly requests: RecordTable<IdempotentRequestRecord>;
  /** Drops kept answers of requests started before `before`. */
  pruneRequests(before: number): Promise<void>;

  /**
   * Fails with ALREADY_EXISTS when the id is taken, or the digest is the secret or previous secret
   * of another key of the same workspace, soft-deleted keys included. Digests are unique per
   * workspace only: what another workspace holds is never revealed nor blocked by it.
   */
  insertKey(key: KeyRecord): Promise<void>;
  /** Soft-deleted keys included. */
  getKey(id: string): Promise<KeyRecord | null>;
  /**
   * The workspace's key with this secret, or the previous secret a reroll left it; soft-deleted
   * keys included. One read, found or not, so the time it takes tells nothing.
   */
  findKeyByHash(workspaceId: string, hash: string): Promise<KeyRecord | null>;
  /**
   * The workspace's keys with any of these secrets or previous secrets, soft-deleted keys included,
   * in no particular order: one read however many digests, for refreshing cached keys in a batch.
   */
  findKeysByHashes(workspaceId: string, hashes: readonly string[]): Promise<KeyRecord[]>;
  /** About how many digests `digests` yields: it sizes the known-digest filter. */
  countDigests(): Promise<number>;
  /** The digest of every key (previous secrets included) and root key, in no particular order, streamed. */
  digests(): AsyncIterable<string>;
  /** Soft-deleted keys excluded; ordered by id, which is creation order. */
  listKeys(filter: KeyFilter, page: Page): Promise<KeyRecord[]>;
  countLiveKeys(keyspaceId: string): Promise<number>;
  countLiveKeysOfIdentity(workspaceId: string, externalId: string): Promise<number>;
  /** Applies the changes only where the guard holds; null when the key is missing or the guard fails. */
  updateKey(id: string, changes: Partial<KeyRecord>, guard: KeyGuard): Promise<KeyRecord | null>;
  /** Adds, removes or sets a live, unrevoked key's roles or direct permissions, atomically; null when there is no such key. */
  changeKeyGrants(id: string, kind: GrantKind, change: GrantChange, names: readonly string[], at: Date): Promise<KeyRecord | null>;
  /** Takes a role or permission from every key of the workspace, and a permission from every role. */
  removeGrantEverywhere(workspaceId: string, kind: GrantKind, name: string, at: Date): Promise<void>;
  /**
   * Gives a live key the secret `next`, keeping the one it has as `previous`, only while its secret
   * is still `currentHash` (of two rerolls at once, one wins). Null when there is no such key;
   * ALREADY_EXISTS when `next` is another digest of the workspace's keys.
   */
  replaceSecret(id: string, currentHash: string, next: Pick<KeyRecord, "hash" | "start" | "sealedSecret">, previous: PreviousSecret, at: Date): Promise<KeyRecord | null>;
  /** Keys whose secret is sealed with a key-encryption key other than `kekId`, ordered by id, after `page.after`. */
  keysSealedOtherwise(kekId: string, page: Page): Promise<KeyRecord[]>;
  /** Replaces the key's sealed secret, only while it is still `current`; says whether it did. */
  replaceSealedSecret(id: string, current: SealedSecret, next: SealedSecret): Promise<boolean>;
  /** Removes the key for good; returns what was removed, or null when there was nothing. */
  deleteKey(id: string): Promise<KeyRecord | null>;
  /** Removes every key of the keyspace, soft-deleted ones too; returns how many. */
  deleteKeysInKeyspace(keyspaceId: string): Promise<number>;

  /**
   * Spends `cost` credits when at least that many are unshared. Returns whether it spent, and
   * afterwards the balance (shares included) and the unshared part; null when the key is gone or
   * has no credits.
   */
  spendCredits(id: string, cost: number): Promise<{ spent: boolean; remaining: number; unshared: number } | null>;
  /**
   * Sets the balance to `amount`, voiding every share, unless the key was refilled at or after
   * `periodStart` already; says whether it did.
   */
  refillCredits(id: string, periodStart: Date, amount: number): Promise<boolean>;
  /**
   * Applies UpdateCredits to a live (neither deleted nor revoked) key as `applyCreditsUpdate`
   * describes, in atomic steps on the balance, so no concurrent spend is lost. Null when there is no
   * such key; throws FAILED_PRECONDITION (NO_CREDITS) to add to or take from a key without credits.
   */
  updateCredits(id: string, update: CreditsUpdate): Promise<KeyRecord | null>;
  /**
   * Credit shares (domain/credits.ts). Moves `units` from the unshared balance of a live key into
   * a new share named `share` (a name never used before), and claims `claim` of them at once;
   * false when fewer are unshared.
   */
  takeCreditShare(id: string, share: string, units: number, claim: number, expiresAt: Date): Promise<boolean>;
  /**
   * Takes `units` out of the share to spend, and extends the share to `expiresAt`; false when the
   * share holds fewer (a DECREMENT took from it, or it was taken back after it expired) or is gone
   * (voided by a SET or a refill).
   */
  claimCredits(id: string, share: string, units: number, expiresAt: Date): Promise<boolean>;
  /**
   * Ends the share: the unclaimed units it still holds (whatever a DECREMENT or an expiry left)
   * and its holder's `unspent` claimed ones go back to the balance. False, changing nothing, when
   * the share is gone: a SET or a refill voided it, claimed units included.
   */
  returnCreditShare(id: string, share: string, unspent: number): Promise<boolean>;
  /**
   * Gives the unclaimed units of the key's shares that expired before `before` back to its
   * balance, leaving each share empty (so its holder, should it still be alive, can give back what
   * it claimed); returns how many came back.
   */
  reclaimCreditShares(id: string, before: Date): Promise<number>;

  /**
   * Counts up to `units` more requests in a rate-limit window, never past `limit`, in one atomic
   * step; returns how many it counted and the window's count after it (at most `limit`). The
   * window is made on first use.
   */
  reserveRateLimit(window: RateLimitWindow, units: number): Promise<{ granted: number; used: number }>;
  /** The counts of these windows (at most their limits), by id; a window never counted in is missing. */
  countRateLimits(windows: readonly RateLimitWindow[]): Promise<Map<string, number>>;
  /** Drops windows that ended before `before`. */
  pruneRateLimits(before: Date): Promise<void>;

  /** Moves last_used_at forward (never back) without counting as a change: updated_at stays. */
  recordKeyUse(uses: readonly KeyUse[]): Promise<void>;

  /** Usage counts (verifications by minute, key, outcome, tags…), rolled up; see analytics.ts. */
  readonly analytics: AnalyticsStore;

  /** Append-only: there is no way to change or remove an event. */
  appendAuditEvent(event: AuditEventRecord): Promise<void>;
  /** Ordered by id, which is time order. */
  listAuditEvents(filter: AuditFilter, page: Page): Promise<AuditEventRecord[]>;

  /**
   * The change feed that tells every instance sharing this store which cached keys to drop. The
   * store numbers changes 1, 2, 3… as it counts them (one atomic increment) and returns the number.
   */
  appendChange(change: KeyChangeTarget & { at: Date }): Promise<number>;
  /** Changes numbered above `after`, lowest first, at most `limit`. */
  changesAfter(after: number, limit: number): Promise<KeyChange[]>;
  /** The highest number handed out so far; 0 before the first change. */
  lastChangeSeq(): Promise<number>;
  /** Drops changes recorded before `before`, by their author's clock: only retention depends on it. */
  pruneChanges(before: Date): Promise<void>;

  /** Fails when the store cannot serve; repairs what it can on the way (MongoDB's missing indexes). Run at start and periodically. */
  checkHealth(): Promise<void>;

  close(): Promise<void>;
}

export type { RateLimitWindow };

export interface KeyUse {
  id: string;
  at: Date;
}

/**
 * Something changed that cached verifications must not outlive: a key, named by id so that every
 * digest it answers to (its previous secret's too) is evicted, with its workspace and current
 * digest for the caches of unknown and known digests (see keyChanged); a whole keyspace; what a
 * workspace's keys draw on (an identity by external id, a role, or anything else of the workspace
 * when only the workspace is named); a root key (by digest), or
 * a rate-limit namespace's overrides.
 */
export interface KeyChange {
  /** The store's number for the change: the feed's order. */
  seq: number;
  /** When its author made it, by the author's clock: for metrics and retention, never for order. */
  at: Date;
  keyId?: string;
  hash?: string;
  keyspaceId?: string;
  workspaceId?: string;
  externalId?: string;
  role?: string;
  rootKeyHash?: string;
  /** A key whose credit shares every holder should give back: an instance ran short while they held units. */
  releaseCreditsOf?: string;
  /** A rate-limit namespace's overrides, as domain/ratelimit.ts overridesChangeTarget names them. */
  ratelimitNamespace?: string;
}

/** A change as its author describes it; the store numbers it. */
export type KeyChangeTarget = Omit<KeyChange, "seq" | "at">;

type Scalar = string | number | boolean | null;

/** Field equality; an array value means "any of these". Only scalar fields can be matched. */
export type Match<T> = { [F in keyof T]?: Scalar | readonly Scalar[] };

/**
 * The records that need nothing but single-document reads and writes, found by field equality.
 * Every write is one atomic operation on one record.
 */
export interface RecordTable<T extends { id: string }> {
  /** Fails with ALREADY_EXISTS when the id or a unique field is taken. */
  insert(record: T): Promise<void>;
  /** Inserts those whose id and unique fields are free, skipping the rest. */
  insertMissing(records: readonly T[]): Promise<void>;
  find(match: Match<T>): Promise<T | null>;
  /** Ordered by id, which is creation order. */
  list(match: Match<T>, page: Page): Promise<T[]>;
  /** Applies the changes to the record the match finds; returns it as changed, or null when none matched. */
  update(match: Match<T>, changes: Partial<T>): Promise<T | null>;
  /** Returns what was removed, or null when nothing matched. */
  delete(match: Match<T>): Promise<T | null>;
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
