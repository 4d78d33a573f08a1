import type { AnalyticsDocument, DocumentPeriod, DocumentScope } from "./documents.js";

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
