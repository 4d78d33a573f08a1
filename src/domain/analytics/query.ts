import type { Granularity } from "./buckets.js";
import type { OutcomeCounts } from "./counts.js";
import type { RowSelection } from "./document-filter.js";

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
