import type { AnalyticsQuery, Bucket, PageCursor } from "./query.js";
import type { AnalyticsRow } from "./rows.js";

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
    if (row.lookahead) continue;
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
