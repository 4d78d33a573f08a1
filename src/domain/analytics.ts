import { createHash } from "node:crypto";
import { invalidArgument } from "./errors.js";

/**
 * Usage analytics: counts of events (verifications, and anything else a `source` names) by
 * workspace, keyspace, key, external id, tag set and minute, with the count of each outcome and
 * the credits spent. Instances add minute counts; `rollUp` turns them into the rows that are
 * stored, so that a query at any granularity reads rows of that granularity only, and a
 * keyspace-wide query reads one row per bucket.
 */

export const GRANULARITIES = ["minute", "hour", "day", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** Rows of a key (or of events without one, such as unknown secrets), or one keyspace's totals. */
export type RowScope = "group" | "keyspace";

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

/** What is stored: counts of one group (or one keyspace) in one bucket of one granularity. */
export interface AnalyticsRow extends GroupValues {
  /** The same for the same bucket and group everywhere, so instances add to one row. */
  id: string;
  scope: RowScope;
  granularity: Granularity;
  /** The bucket's start. */
  time: Date;
  outcomes: OutcomeCounts;
  credits: number;
  /** When retention lets the row go. */
  expiresAt: Date;
}

/** How long rows of each granularity are kept after their bucket ends, in milliseconds. */
export type Retention = Record<Granularity, number>;

const DAY_MS = 86_400_000;

export const DEFAULT_RETENTION: Retention = { minute: 7 * DAY_MS, hour: 92 * DAY_MS, day: 731 * DAY_MS, month: 3660 * DAY_MS };

/** The longest range one query may span at each granularity: what keeps a query's reads bounded. */
export const MAX_RANGE_MS: Retention = { minute: DAY_MS, hour: 92 * DAY_MS, day: 731 * DAY_MS, month: 3660 * DAY_MS };

const FIXED_LENGTH_MS: Record<Exclude<Granularity, "month">, number> = { minute: 60_000, hour: 3_600_000, day: DAY_MS };

/** The start of the UTC bucket holding `at`. */
export function bucketStart(granularity: Granularity, at: number): number {
  if (granularity !== "month") return at - mod(at, FIXED_LENGTH_MS[granularity]);
  const date = new Date(at);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucket(granularity: Granularity, start: number): number {
  if (granularity !== "month") return start + FIXED_LENGTH_MS[granularity];
  const date = new Date(start);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

const mod = (value: number, by: number) => ((value % by) + by) % by;

/** A stable, short id for a row: a digest of everything that tells rows apart. */
export function rowId(scope: RowScope, granularity: Granularity, time: number, group: GroupValues): string {
  const parts = [scope, granularity, time, group.source, group.workspaceId, group.keyspaceId, group.keyId, group.externalId, group.tags, group.overflow];
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 24);
}

/**
 * The rows minute counts add to: each count's minute, hour, day and month rows, and the same four
 * of its keyspace's totals, merged by row id so each row is written once per batch.
 */
export function rollUp(counts: Iterable<MinuteCount>, retention: Retention, granularities: readonly Granularity[] = GRANULARITIES): AnalyticsRow[] {
  const rows = new Map<string, AnalyticsRow>();
  const add = (scope: RowScope, granularity: Granularity, group: GroupValues, count: MinuteCount) => {
    const time = bucketStart(granularity, count.minute);
    const id = rowId(scope, granularity, time, group);
    const row = rows.get(id);
    if (row) {
      addCounts(row, count);
      return;
    }
    rows.set(id, {
      ...group,
      tags: [...group.tags],
      id,
      scope,
      granularity,
      time: new Date(time),
      outcomes: { ...count.outcomes },
      credits: count.credits,
      expiresAt: new Date(nextBucket(granularity, time) + retention[granularity]),
    });
  };
  for (const count of counts) {
    const keyspace: GroupValues = { source: count.source, workspaceId: count.workspaceId, keyspaceId: count.keyspaceId, keyId: "", externalId: "", tags: [], overflow: false };
    for (const granularity of granularities) {
      add("group", granularity, count, count);
      add("keyspace", granularity, keyspace, count);
    }
  }
  return [...rows.values()];
}

/** Adds `more`'s outcome counts and credits to `into`. */
export function addCounts(into: { outcomes: OutcomeCounts; credits: number }, more: { outcomes: OutcomeCounts; credits: number }) {
  for (const [outcome, count] of Object.entries(more.outcomes)) into.outcomes[outcome] = (into.outcomes[outcome] ?? 0) + count;
  into.credits += more.credits;
}

/** What a query narrows rows to, besides time: the same for a query and the rows it reads. */
export interface RowSelection {
  source: string;
  workspaceId: string;
  /** Any of these; undefined: every keyspace (and, for rows, events without one). */
  keyspaceIds?: readonly string[];
  keyIds?: readonly string[];
  externalIds?: readonly string[];
  /** Rows whose tags include all of these. */
  tags?: readonly string[];
}

/** Which stored rows a query reads. */
export interface RowFilter extends RowSelection {
  scope: RowScope;
  granularity: Granularity;
  /** Rows whose bucket starts at or after this time… */
  from: Date;
  /** …and before this one. */
  to: Date;
}

export const rowMatches = (row: AnalyticsRow, filter: RowFilter) =>
  row.scope === filter.scope &&
  row.granularity === filter.granularity &&
  row.source === filter.source &&
  row.workspaceId === filter.workspaceId &&
  (!filter.keyspaceIds || filter.keyspaceIds.includes(row.keyspaceId)) &&
  (!filter.keyIds || filter.keyIds.includes(row.keyId)) &&
  (!filter.externalIds || filter.externalIds.includes(row.externalId)) &&
  (!filter.tags || filter.tags.every((tag) => row.tags.includes(tag))) &&
  row.time >= filter.from &&
  row.time < filter.to;

export const GROUPINGS = ["keyspace", "key", "identity", "outcome", "tag"] as const;
export type Grouping = (typeof GROUPINGS)[number];

export interface AnalyticsQuery extends RowSelection {
  /** Only these outcomes are counted; undefined: all. */
  outcomes?: readonly string[];
  /** The outcome whose events spend credits. */
  creditsOutcome: string;
  groupBy: ReadonlySet<Grouping>;
  granularity: Granularity;
  from: Date;
  to: Date;
}

/** One bucket of an answer: a time and a group, with the group's values for what is grouped by. */
export interface Bucket {
  time: Date;
  keyspaceId: string;
  keyId: string;
  externalId: string;
  outcome: string;
  tag: string;
  tagsOverflowed: boolean;
  outcomes: OutcomeCounts;
  credits: number;
}

/** Where a page ends: the last bucket's time and group. */
export interface PageCursor {
  time: number;
  group: string;
}

/** Checks a query's range: in order, and no longer than its granularity allows. */
export function checkRange(granularity: Granularity, from: Date, to: Date) {
  if (to <= from) throw invalidArgument("end_time", "must be after start_time");
  if (to.getTime() - from.getTime() > MAX_RANGE_MS[granularity]) {
    throw invalidArgument("end_time", `may be at most ${MAX_RANGE_MS[granularity] / DAY_MS} days after start_time at ${granularity} granularity`);
  }
}

/**
 * The row filter for a query: keyspace totals when nothing below the keyspace is filtered or
 * grouped by (one row per bucket), the groups' rows otherwise. A bucket counts whole: the one
 * holding `from` is the first.
 */
export function rowFilterOf(query: AnalyticsQuery, after?: PageCursor): RowFilter {
  const totals = !query.keyIds && !query.externalIds && !query.tags && !["key", "identity", "tag"].some((grouping) => query.groupBy.has(grouping as Grouping));
  const first = bucketStart(query.granularity, query.from.getTime());
  return {
    scope: totals ? "keyspace" : "group",
    granularity: query.granularity,
    source: query.source,
    workspaceId: query.workspaceId,
    keyspaceIds: query.keyspaceIds,
    keyIds: query.keyIds,
    externalIds: query.externalIds,
    tags: query.tags,
    from: new Date(Math.max(first, after?.time ?? first)),
    to: query.to,
  };
}

/**
 * Sums rows, read in time order, into buckets, and returns one page of them after `after`: the
 * buckets in time order, each time's in group order. Reading stops as soon as the page and the
 * bucket after it are known, so a page costs the rows up to it.
 */
export async function pageOfBuckets(
  rows: AsyncIterable<AnalyticsRow>,
  query: AnalyticsQuery,
  pageSize: number,
  after?: PageCursor,
): Promise<{ buckets: Bucket[]; next?: PageCursor }> {
  const page: { group: string; bucket: Bucket }[] = [];
  let time = Number.NaN;
  let groups = new Map<string, Bucket>();
  const settle = () => {
    const sorted = [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [group, bucket] of sorted) {
      if (after && time === after.time && group <= after.group) continue;
      if (bucket.outcomes && Object.keys(bucket.outcomes).length > 0) page.push({ group, bucket });
    }
    groups = new Map();
  };
  for await (const row of rows) {
    const rowTime = row.time.getTime();
    if (rowTime !== time) {
      settle();
      if (page.length > pageSize) break;
      time = rowTime;
    }
    for (const [group, values] of groupsOf(row, query)) {
      let bucket = groups.get(group);
      if (!bucket) groups.set(group, (bucket = { time: row.time, ...values, outcomes: {}, credits: 0 }));
      for (const [outcome, count] of Object.entries(row.outcomes)) {
        if (count === 0 || (query.outcomes && !query.outcomes.includes(outcome)) || (values.outcome && values.outcome !== outcome)) continue;
        bucket.outcomes[outcome] = (bucket.outcomes[outcome] ?? 0) + count;
        if (outcome === query.creditsOutcome) bucket.credits += row.credits;
      }
    }
  }
  if (page.length <= pageSize) settle();
  if (page.length <= pageSize) return { buckets: page.map(({ bucket }) => bucket) };
  const served = page.slice(0, pageSize);
  const last = served.at(-1)!;
  return { buckets: served.map(({ bucket }) => bucket), next: { time: last.bucket.time.getTime(), group: last.group } };
}

type GroupOf = Omit<Bucket, "time" | "outcomes" | "credits">;

/** The groups a row counts in, by their sort key: one, or one per tag or outcome when grouped by those. */
function groupsOf(row: AnalyticsRow, query: AnalyticsQuery): [string, GroupOf][] {
  const by = query.groupBy;
  const base: GroupOf = {
    keyspaceId: by.has("keyspace") ? row.keyspaceId : "",
    keyId: by.has("key") ? row.keyId : "",
    externalId: by.has("identity") ? row.externalId : "",
    outcome: "",
    tag: "",
    tagsOverflowed: false,
  };
  let values: GroupOf[] = [base];
  if (by.has("tag")) {
    values = row.overflow
      ? [{ ...base, tagsOverflowed: true }]
      : row.tags.length === 0
        ? [base]
        : row.tags.map((tag) => ({ ...base, tag }));
  }
  if (by.has("outcome")) {
    const outcomes = Object.keys(row.outcomes).filter((outcome) => row.outcomes[outcome]! > 0);
    values = values.flatMap((group) => outcomes.map((outcome) => ({ ...group, outcome })));
  }
  return values.map((group) => [JSON.stringify([group.keyspaceId, group.keyId, group.externalId, group.outcome, group.tag, group.tagsOverflowed]), group]);
}

export const totalOf = (outcomes: OutcomeCounts) => Object.values(outcomes).reduce((sum, count) => sum + count, 0);
