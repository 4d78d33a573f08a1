import type { DocumentFilter } from "../../domain/analytics/document-filter.js";
import type { AnalyticsDocument, DocumentPeriod } from "../../domain/analytics/documents.js";

/**
 * Where usage counts are kept (domain/analytics/documents.ts). Adding is one atomic increment per document,
 * by the document's id, made on first use: documents added by several instances at once sum
 * exactly. The contract suite in test/store/analytics/contract.ts holds every adapter to it.
 */
export interface AnalyticsStore {
  /** Adds each document's counts, at every level (totals, hours, minutes, keys), to the stored document of its id: one write each. */
  add(documents: readonly AnalyticsDocument[]): Promise<void>;
  /** The documents the filter matches, in time order (within a time, in no particular order), with the filter's part only. */
  documents(filter: DocumentFilter): AsyncIterable<AnalyticsDocument>;
  /** Drops the documents of this period whose period started before `before`. */
  prune(period: DocumentPeriod, before: Date): Promise<void>;
  /** Removes the hours or minutes of the day documents whose day started before `before`. */
  pruneFields(part: "hours" | "minutes", before: Date): Promise<void>;
}

/** The database refused these documents, and wrote the others of the call. */
export class DocumentsNotWritten extends Error {
  constructor(readonly documentIds: readonly string[]) {
    super(`${documentIds.length} analytics documents were not written`);
  }
}
