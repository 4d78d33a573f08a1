/**
 * The change feed that tells every instance sharing this store which cached keys to drop. The
 * store numbers changes 1, 2, 3… as it counts them (one atomic increment) and returns the number.
 */
export interface ChangeLog {
  appendChange(change: KeyChangeTarget & { at: Date }): Promise<number>;
  /** Changes numbered above `after`, lowest first, at most `limit`. */
  changesAfter(after: number, limit: number): Promise<KeyChange[]>;
  /** The highest number handed out so far; 0 before the first change. */
  lastChangeSeq(): Promise<number>;
  /** Drops changes recorded before `before`, by their author's clock: only retention depends on it. */
  pruneChanges(before: Date): Promise<void>;
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
