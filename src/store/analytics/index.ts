import type { AnalyticsRow, Granularity, RowFilter } from "../../domain/analytics.js";

/**
 * Where usage counts are kept (domain/analytics.ts). Adding is one atomic increment per row, by
 * the row's id, made on first use: rows added by several instances at once sum exactly. The
 * contract suite in test/store/analytics/contract.ts holds every adapter to it.
 */
export interface AnalyticsStore {
  /** Adds each row's outcome counts and credits to the stored row of its id. */
  add(rows: readonly AnalyticsRow[]): Promise<void>;
  /** The rows the filter matches, in time order (within a time, in no particular order). */
  rows(filter: RowFilter): AsyncIterable<AnalyticsRow>;
  /** Drops the rows of this granularity whose bucket started before `before`. */
  prune(granularity: Granularity, before: Date): Promise<void>;
}

/** The database refused these rows, and wrote the others of the call. */
export class RowsNotWritten extends Error {
  constructor(readonly rowIds: readonly string[]) {
    super(`${rowIds.length} analytics rows were not written`);
  }
}
