import { bucketStart, nextBucket } from "./buckets.js";
import type { Counts, GroupValues } from "./counts.js";
import type { DocumentFilter, DocumentPart } from "./document-filter.js";
import { type AnalyticsDocument, type DocumentPeriod, keyOfField, offsetOfField } from "./documents.js";
import type { AnalyticsQuery, PageCursor } from "./query.js";

/** One group's counts in one bucket of the queried granularity, read out of a document. */
export interface AnalyticsRow extends GroupValues, Counts {
  time: Date;
  /**
   * Announces that rows of this time follow, with these counts among them, and counts in no
   * bucket itself: a page that ends with the time before learns from it that another page follows.
   */
  lookahead?: boolean;
}

/** Reads documents: the store's `documents`. */
export type ReadDocuments = (filter: DocumentFilter) => AsyncIterable<AnalyticsDocument>;

/**
 * The rows a query counts, in time order, in batches, from as few documents as answer it: its keyspaces'
 * totals when nothing below the keyspace is filtered or grouped by (one document per day or
 * month); the keyspaces' `keys` documents when only keys are, at day granularity (one per day);
 * the groups' documents otherwise. A bucket counts whole: the one holding `from` is
 * the first. Rows by key and day include lookahead rows (`lookahead`), which count in no bucket.
 * A batch holds the rows of what was read last (a document, a day): a reader that stops after a
 * batch leaves the rest unread.
 */
export async function* rowsOf(read: ReadDocuments, query: AnalyticsQuery, after?: PageCursor): AsyncIterable<AnalyticsRow[]> {
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
  const to = query.to.getTime();
  // Times compared as numbers: comparing Dates converts both on every call.
  const inRange = (row: AnalyticsRow) => {
    const time = row.time.getTime();
    return time >= from && time < to;
  };
  if (keyTotals) {
    yield* keyRowsOf(read, query, filter, inRange);
    return;
  }
  // Rows of totals carry their document's time, which comes in order: they go as read.
  // Hours and minutes of several documents of one day interleave: they are sorted per day.
  let time = Number.NaN;
  let rows: AnalyticsRow[] = [];
  /** The rows read so far, in range and in order, as a batch (none when there are no rows). */
  const settled = () => {
    const sorted = rows.filter(inRange).sort((a, b) => a.time.getTime() - b.time.getTime());
    rows = [];
    return sorted.length > 0 ? [sorted] : [];
  };
  for await (const document of read(filter)) {
    if (document.time.getTime() !== time) {
      yield* settled();
      time = document.time.getTime();
    }
    rows.push(...rowsIn(document, part));
    if (part === "totals") yield* settled();
  }
  yield* settled();
}

/**
 * Rows by key and day, a day at a time. The keyspaces' day totals, small documents, say which
 * days have counts; only those days' `keys` documents are read, each when its rows are reached, and
 * a day's group documents where its keys ran out of entries. Without a filter by key, each day's
 * totals come first as a lookahead row: a page that ends with the day before stops there, without
 * reading this day's keys. The totals count every key of the day, so they count in the answer
 * exactly when one of the day's key rows does.
 */
async function* keyRowsOf(
  read: ReadDocuments,
  query: AnalyticsQuery,
  filter: DocumentFilter,
  inRange: (row: AnalyticsRow) => boolean,
): AsyncIterable<AnalyticsRow[]> {
  const keyIds = query.keyIds && new Set(query.keyIds);
  async function keyRowsOfDay(totals: AnalyticsDocument[]): Promise<AnalyticsRow[]> {
    const time = totals[0]!.time;
    const day = { from: time, to: new Date(nextBucket("day", time.getTime())), keyspaceIds: totals.map((total) => total.keyspaceId) };
    const rows: AnalyticsRow[] = [];
    for await (const document of read({ ...filter, ...day })) {
      if (!document.keysOverflowed) keyRowsIn(document, keyIds, rows);
      else {
        const groups = { ...filter, ...day, scope: "group" as const, part: "totals" as const, keyspaceIds: [document.keyspaceId] };
        for await (const group of read(groups)) rows.push(...rowsIn(group, "totals"));
      }
    }
    // Every row of the day has the day's time.
    return rows.length > 0 && inRange(rows[0]!) ? rows : [];
  }
  let day: AnalyticsDocument[] = [];
  for await (const total of read({ ...filter, scope: "keyspace", part: "totals" })) {
    if (day.length > 0 && total.time.getTime() !== day[0]!.time.getTime()) {
      yield await keyRowsOfDay(day);
      day = [];
    }
    if (!query.keyIds) {
      const lookahead = { ...rowsIn(total, "totals")[0]!, lookahead: true };
      if (inRange(lookahead)) yield [lookahead];
    }
    day.push(total);
  }
  if (day.length > 0) yield await keyRowsOfDay(day);
}

function rowsIn(document: AnalyticsDocument, part: DocumentPart): AnalyticsRow[] {
  const { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow } = document;
  const group = { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow };
  const fields = part === "hours" ? document.hours : part === "minutes" ? document.minutes : undefined;
  if (!fields) return part === "totals" ? [{ ...group, time: document.time, outcomes: document.outcomes, credits: document.credits }] : [];
  return Object.entries(fields).map(([field, counts]) => ({ ...group, time: new Date(document.time.getTime() + offsetOfField(field)), ...counts }));
}

/** The tags of every key's row, which nothing changes: one list rather than one per row. */
const NO_TAGS: string[] = [];

/** Adds to `rows` a `keys` document's rows: each key's, or only those of `keyIds`. */
function keyRowsIn(document: AnalyticsDocument, keyIds: ReadonlySet<string> | undefined, rows: AnalyticsRow[]) {
  if (!document.keys) return;
  for (const [field, { outcomes, credits }] of document.keys) {
    const { keyId, overflow } = keyOfField(field);
    if (keyIds && !keyIds.has(keyId)) continue;
    rows.push({
      source: document.source,
      workspaceId: document.workspaceId,
      keyspaceId: document.keyspaceId,
      keyId,
      externalId: "",
      tags: NO_TAGS,
      overflow,
      time: document.time,
      outcomes,
      credits,
    });
  }
}
