import { createHash } from "node:crypto";
import { invalidArgument } from "../errors.js";

/**
 * Usage analytics: counts of events (verifications, and anything else a `source` names) by
 * workspace, keyspace, key, external id, tag set and minute, with the count of each outcome and
 * the credits spent. Instances add minute counts; `documentsOf` turns them into the documents
 * that are stored (a few per group, whatever the granularity), and `rowsOf` reads them back as
 * rows of the queried granularity.
 */

export const GRANULARITIES = ["minute", "hour", "day", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

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

/** Counts added together: a count per outcome, and the credits spent. */
export interface Counts {
  outcomes: OutcomeCounts;
  credits: number;
}

/**
 * A day's or a month's counts of one group (`group`), or of one keyspace's groups together
 * (`keyspace`); or a keyspace's keys' day totals (`keys`), apart from its totals so that a query
 * of the totals does not read them.
 */
export type DocumentScope = "group" | "keyspace" | "keys";
export type DocumentPeriod = "day" | "month";

/**
 * What is stored, and what a flush adds to what is stored: one group's (or keyspace's) counts of
 * one UTC day or month. A day document holds its hours and minutes as fields, so a flush writes
 * one day document and one month document per group, and the same two per keyspace, whatever
 * granularities are queried, and one more per keyspace with each key's day totals, so that a
 * query by key and day reads one document per day.
 */
export interface AnalyticsDocument extends GroupValues, Counts {
  /** The same for the same period and group everywhere, so instances add to one document. */
  id: string;
  scope: DocumentScope;
  period: DocumentPeriod;
  /** The period's start. */
  time: Date;
  /** Day documents: counts by hour of the day, under `hourField`. */
  hours?: Record<string, Counts>;
  /** Day documents: counts by minute of the day, under `minuteField`. */
  minutes?: Record<string, Counts>;
  /** `keys` documents: each key's day totals, under `keyField`. */
  keys?: Record<string, Counts>;
  /** Some of the day's keys were counted without an entry in `keys` (the key budget): queries by key read the groups' documents for that day. */
  keysOverflowed?: boolean;
  /** When retention lets the document go. */
  expiresAt: Date;
}

/** One group's counts in one bucket of the queried granularity, read out of a document. */
export interface AnalyticsRow extends GroupValues, Counts {
  time: Date;
}

const HOUR_MS = 3_600_000;

/** Field names of hours and minutes start with a letter: MongoDB would take a number for an array index. */
export const hourField = (at: number) => `h${String(Math.floor(mod(at, DAY_MS) / HOUR_MS)).padStart(2, "0")}`;
export const minuteField = (at: number) => `m${String(Math.floor(mod(at, DAY_MS) / 60_000)).padStart(4, "0")}`;
const offsetOfField = (field: string) => Number(field.slice(1)) * (field.startsWith("h") ? HOUR_MS : 60_000);

/**
 * A key's field in `keys`: the key id (or a rate-limit identifier, which may hold any printable
 * character) with `%`, `.` and `$` escaped, behind `k`, or behind `o` for the key's overflow group.
 */
export const keyField = (keyId: string, overflow: boolean) =>
  `${overflow ? "o" : "k"}${keyId.replace(/[%.$]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`)}`;

const keyOfField = (field: string) => ({
  keyId: field.slice(1).replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
  overflow: field.startsWith("o"),
});

/** A stable, short id for a document: a digest of everything that tells documents apart. */
export function documentId(scope: DocumentScope, period: DocumentPeriod, time: number, group: GroupValues): string {
  const parts = [scope, period, time, group.source, group.workspaceId, group.keyspaceId, group.keyId, group.externalId, group.tags, group.overflow];
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 24);
}

/** How long a document of each period is kept after it ends: a day's hours and minutes are pruned from it sooner. */
export const documentRetention = (period: DocumentPeriod, retention: Retention) =>
  period === "month" ? retention.month : Math.max(retention.minute, retention.hour, retention.day);

/**
 * The documents minute counts add to: each count's group day and month documents, its
 * keyspace's two and its keyspace's keys of the day, merged by id so each is written once per
 * batch. `admitsKey` says whether a key gets its own entry in a `keys` document; one it refuses is counted in the
 * keyspace's totals only and marks the document `keysOverflowed`.
 */
export function documentsOf(
  counts: Iterable<MinuteCount>,
  retention: Retention,
  admitsKey: (keysOfDay: AnalyticsDocument, keyId: string) => boolean,
): AnalyticsDocument[] {
  const documents = new Map<string, AnalyticsDocument>();
  const documentOf = (scope: DocumentScope, period: DocumentPeriod, group: GroupValues, minute: number) => {
    const time = bucketStart(period, minute);
    const id = documentId(scope, period, time, group);
    let document = documents.get(id);
    if (!document) {
      const { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow } = group;
      documents.set(
        id,
        (document = {
          source,
          workspaceId,
          keyspaceId,
          keyId,
          externalId,
          tags: [...tags],
          overflow,
          id,
          scope,
          period,
          time: new Date(time),
          outcomes: {},
          credits: 0,
          expiresAt: new Date(nextBucket(period, time) + documentRetention(period, retention)),
        }),
      );
    }
    return document;
  };
  for (const count of counts) {
    const keyspace: GroupValues = {
      source: count.source,
      workspaceId: count.workspaceId,
      keyspaceId: count.keyspaceId,
      keyId: "",
      externalId: "",
      tags: [],
      overflow: false,
    };
    for (const scope of ["group", "keyspace"] as const) {
      const group = scope === "group" ? count : keyspace;
      const day = documentOf(scope, "day", group, count.minute);
      addCounts(day, count);
      addCounts(fieldOf((day.hours ??= {}), hourField(count.minute)), count);
      addCounts(fieldOf((day.minutes ??= {}), minuteField(count.minute)), count);
      addCounts(documentOf(scope, "month", group, count.minute), count);
    }
    const keys = documentOf("keys", "day", keyspace, count.minute);
    if (admitsKey(keys, count.keyId)) addCounts(fieldOf((keys.keys ??= {}), keyField(count.keyId, count.overflow)), count);
    else keys.keysOverflowed = true;
  }
  return [...documents.values()];
}

const fieldOf = (fields: Record<string, Counts>, name: string) => (fields[name] ??= { outcomes: {}, credits: 0 });

/** Adds `more`'s outcome counts and credits to `into`. */
export function addCounts(into: Counts, more: Counts) {
  for (const [outcome, count] of Object.entries(more.outcomes)) into.outcomes[outcome] = (into.outcomes[outcome] ?? 0) + count;
  into.credits += more.credits;
}

/** Adds a document's counts, at every level, to another of the same id. */
export function addDocument(into: AnalyticsDocument, more: AnalyticsDocument) {
  addCounts(into, more);
  for (const part of ["hours", "minutes", "keys"] as const) {
    const fields = more[part];
    if (!fields) continue;
    const target = (into[part] ??= {});
    for (const [name, counts] of Object.entries(fields)) addCounts(fieldOf(target, name), counts);
  }
  if (more.keysOverflowed) into.keysOverflowed = true;
}

/** What a query narrows documents to, besides time: the same for a query and the documents it reads. */
export interface RowSelection {
  source: string;
  workspaceId: string;
  /** Any of these; undefined: every keyspace (and, for rows, events without one). */
  keyspaceIds?: readonly string[];
  keyIds?: readonly string[];
  externalIds?: readonly string[];
  /** Documents whose tags include all of these. */
  tags?: readonly string[];
}

/** The parts of a document a query reads: the others stay on the server. */
export type DocumentPart = "totals" | "hours" | "minutes" | "keys";

/** Which stored documents a query reads. `keyIds`, `externalIds` and `tags` apply to group documents only. */
export interface DocumentFilter extends RowSelection {
  scope: DocumentScope;
  period: DocumentPeriod;
  part: DocumentPart;
  /** Documents whose period starts at or after this time… */
  from: Date;
  /** …and before this one. */
  to: Date;
}

export const documentMatches = (document: AnalyticsDocument, filter: DocumentFilter) =>
  document.scope === filter.scope &&
  document.period === filter.period &&
  document.source === filter.source &&
  document.workspaceId === filter.workspaceId &&
  (!filter.keyspaceIds || filter.keyspaceIds.includes(document.keyspaceId)) &&
  (filter.scope !== "group" || !filter.keyIds || filter.keyIds.includes(document.keyId)) &&
  (filter.scope !== "group" || !filter.externalIds || filter.externalIds.includes(document.externalId)) &&
  (filter.scope !== "group" || !filter.tags || filter.tags.every((tag) => document.tags.includes(tag))) &&
  document.time >= filter.from &&
  document.time < filter.to;

/** The parts of a document beyond its totals that a read of `part` leaves out. */
export const PARTS_LEFT_OUT: Record<DocumentPart, readonly ("hours" | "minutes" | "keys")[]> = {
  totals: ["hours", "minutes", "keys"],
  hours: ["minutes", "keys"],
  minutes: ["hours", "keys"],
  keys: ["hours", "minutes"],
};

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

/** Reads documents: the store's `documents`. */
export type ReadDocuments = (filter: DocumentFilter) => AsyncIterable<AnalyticsDocument>;

/**
 * The rows a query counts, in time order, from as few documents as answer it: its keyspaces'
 * totals when nothing below the keyspace is filtered or grouped by (one document per day or
 * month); the keyspaces' `keys` documents when only keys are, at day granularity (one per day);
 * the groups' documents otherwise. A bucket counts whole: the one holding `from` is
 * the first.
 */
export async function* rowsOf(read: ReadDocuments, query: AnalyticsQuery, after?: PageCursor): AsyncIterable<AnalyticsRow> {
  const belowKey = !!query.externalIds || !!query.tags || query.groupBy.has("identity") || query.groupBy.has("tag");
  const totals = !belowKey && !query.keyIds && !query.groupBy.has("key");
  const keyTotals = !belowKey && !totals && query.granularity === "day";
  const first = bucketStart(query.granularity, query.from.getTime());
  const from = Math.max(first, after?.time ?? first);
  const period: DocumentPeriod = query.granularity === "month" ? "month" : "day";
  const part: DocumentPart = keyTotals ? "keys" : query.granularity === "hour" ? "hours" : query.granularity === "minute" ? "minutes" : "totals";
  const filter: DocumentFilter = {
    scope: keyTotals ? "keys" : totals ? "keyspace" : "group",
    period,
    part,
    source: query.source,
    workspaceId: query.workspaceId,
    keyspaceIds: query.keyspaceIds,
    keyIds: query.keyIds,
    externalIds: query.externalIds,
    tags: query.tags,
    from: new Date(bucketStart(period, from)),
    to: query.to,
  };
  const inRange = (row: AnalyticsRow) => row.time.getTime() >= from && row.time < query.to;
  // Rows of totals and keys carry their document's time, which comes in order: they go as read.
  // Hours and minutes of several documents of one day interleave: they are sorted per day.
  const inOrder = part === "totals" || part === "keys";
  let time = Number.NaN;
  let rows: AnalyticsRow[] = [];
  const settled = () => {
    const sorted = rows.filter(inRange).sort((a, b) => a.time.getTime() - b.time.getTime());
    rows = [];
    return sorted;
  };
  for await (const document of read(filter)) {
    if (document.time.getTime() !== time) {
      yield* settled();
      time = document.time.getTime();
    }
    if (!keyTotals) rows.push(...rowsIn(document, part));
    else if (!document.keysOverflowed) rows.push(...keyRowsIn(document, query.keyIds));
    else {
      const day = {
        ...filter,
        scope: "group" as const,
        part: "totals" as const,
        keyspaceIds: [document.keyspaceId],
        from: document.time,
        to: new Date(nextBucket("day", time)),
      };
      for await (const group of read(day)) rows.push(...rowsIn(group, "totals"));
    }
    if (inOrder) yield* settled();
  }
  yield* settled();
}

function rowsIn(document: AnalyticsDocument, part: DocumentPart): AnalyticsRow[] {
  const { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow } = document;
  const group = { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow };
  const fields = part === "hours" ? document.hours : part === "minutes" ? document.minutes : undefined;
  if (!fields) return part === "totals" ? [{ ...group, time: document.time, outcomes: document.outcomes, credits: document.credits }] : [];
  return Object.entries(fields).map(([field, counts]) => ({ ...group, time: new Date(document.time.getTime() + offsetOfField(field)), ...counts }));
}

function keyRowsIn(document: AnalyticsDocument, keyIds: readonly string[] | undefined): AnalyticsRow[] {
  const rows: AnalyticsRow[] = [];
  for (const [field, counts] of Object.entries(document.keys ?? {})) {
    const { keyId, overflow } = keyOfField(field);
    if (keyIds && !keyIds.includes(keyId)) continue;
    rows.push({
      source: document.source,
      workspaceId: document.workspaceId,
      keyspaceId: document.keyspaceId,
      keyId,
      externalId: "",
      tags: [],
      overflow,
      time: document.time,
      ...counts,
    });
  }
  return rows;
}

/**
 * Sums rows, read in time order, into buckets, and returns one page of them after `after`: the
 * buckets in time order, each time's in group order. Reading stops as soon as the page and the
 * bucket after it are known, so a page costs the rows up to it. A page that ends with its last
 * time's buckets resumes at the next time: the next page does not read that last time again.
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
      if (page.length === pageSize && counted(row, query)) return { buckets: page.map(({ bucket }) => bucket), next: { time: rowTime, group: "" } };
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

/** Whether a row adds to some bucket of the answer. */
const counted = (row: AnalyticsRow, query: AnalyticsQuery) =>
  Object.entries(row.outcomes).some(([outcome, count]) => count > 0 && (!query.outcomes || query.outcomes.includes(outcome)));

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
    values = row.overflow ? [{ ...base, tagsOverflowed: true }] : row.tags.length === 0 ? [base] : row.tags.map((tag) => ({ ...base, tag }));
  }
  if (by.has("outcome")) {
    const outcomes = Object.keys(row.outcomes).filter((outcome) => row.outcomes[outcome]! > 0);
    values = values.flatMap((group) => outcomes.map((outcome) => ({ ...group, outcome })));
  }
  return values.map((group) => [JSON.stringify([group.keyspaceId, group.keyId, group.externalId, group.outcome, group.tag, group.tagsOverflowed]), group]);
}

export const totalOf = (outcomes: OutcomeCounts) => Object.values(outcomes).reduce((sum, count) => sum + count, 0);
