import { bucketStart, nextBucket } from "./buckets.js";
import { type AnalyticsDocument, type DocumentPeriod, type DocumentScope, documentId } from "./documents.js";

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

/** Past this many, a filter's documents are found by a query rather than by their ids. */
export const MAX_EXACT_IDS = 10_000;

/**
 * The ids of every document the filter can match, each with its period's start, in time order:
 * keyspace and `keys` documents of named keyspaces, whose ids follow from the filter alone
 * (`documentId`). Undefined for group documents (their ids name keys, identities and tags) and
 * for every keyspace, and past `MAX_EXACT_IDS`: those are found by a query.
 */
export function exactIdsOf(filter: DocumentFilter): { id: string; time: number }[] | undefined {
  if (filter.scope === "group" || !filter.keyspaceIds) return undefined;
  const ids: { id: string; time: number }[] = [];
  let time = bucketStart(filter.period, filter.from.getTime());
  if (time < filter.from.getTime()) time = nextBucket(filter.period, time);
  for (; time < filter.to.getTime(); time = nextBucket(filter.period, time)) {
    if (ids.length + filter.keyspaceIds.length > MAX_EXACT_IDS) return undefined;
    for (const keyspaceId of filter.keyspaceIds) {
      const keyspace = { source: filter.source, workspaceId: filter.workspaceId, keyspaceId, keyId: "", externalId: "", tags: [], overflow: false };
      ids.push({ id: documentId(filter.scope, filter.period, time, keyspace), time });
    }
  }
  return ids;
}
