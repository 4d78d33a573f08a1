/**
 * Usage analytics: counts of events (verifications, and anything else a `source` names) by
 * workspace, keyspace, key, external id, tag set and minute, with the count of each outcome and
 * the credits spent. Instances add minute counts (this file); `documentsOf` (documents.ts) turns
 * them into the documents that are stored (a few per group, whatever the granularity), `rowsOf`
 * (rows.ts) reads them back as rows of the queried granularity, and `pageOfBuckets` (pages.ts)
 * sums rows into the buckets of an answer.
 */

/** The source verifications are counted under. */
export const VERIFICATION_SOURCE = "verification";
/**
 * The source of rate-limit decisions (Limit, MultiLimit): counted with the namespace where
 * verifications have the keyspace, the identifier where they have the key, `passed` or `refused`.
 */
export const RATELIMIT_SOURCE = "ratelimit";

/** What is counted together within one minute. */
export interface GroupValues {
  source: string;
  workspaceId: string;
  /** Empty when the event had no key (an unknown secret). */
  keyspaceId: string;
  keyId: string;
  /** The key's external id when it was counted; empty without one. */
  externalId: string;
  /** Sorted, without repeats. Empty when `overflow`. */
  tags: string[];
  /** Counted beyond the workspace's budget of groups for the minute: its tags were not kept. */
  overflow: boolean;
}

export type OutcomeCounts = Record<string, number>;

/** One group's events in one minute, as an instance counted them. */
export interface MinuteCount extends GroupValues {
  minute: number;
  outcomes: OutcomeCounts;
  credits: number;
}

/** Counts added together: a count per outcome, and the credits spent. */
export interface Counts {
  outcomes: OutcomeCounts;
  credits: number;
}

/** Adds `more`'s outcome counts and credits to `into`. */
export function addCounts(into: Counts, more: Counts) {
  for (const [outcome, count] of Object.entries(more.outcomes)) into.outcomes[outcome] = (into.outcomes[outcome] ?? 0) + count;
  into.credits += more.credits;
}

export const totalOf = (outcomes: OutcomeCounts) => Object.values(outcomes).reduce((sum, count) => sum + count, 0);
