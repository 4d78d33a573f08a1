import { bucketStart, nextBucket } from "./buckets.js";
import type { Counts, GroupValues } from "./counts.js";
import type { DocumentFilter, DocumentPart } from "./document-filter.js";
import { type AnalyticsDocument, type DocumentPeriod, keyOfField, offsetOfField } from "./documents.js";
import type { AnalyticsQuery, PageCursor } from "./query.js";

/** One group's counts in one bucket of the queried granularity, read out of a document. */
export interface AnalyticsRow extends GroupValues, Counts {
  time: Date;
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
