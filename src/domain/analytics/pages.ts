import type { AnalyticsQuery, Bucket, PageCursor } from "./query.js";
import type { AnalyticsRow } from "./rows.js";

/**
 * Sums rows, read in time order, into buckets, and returns one page of them after `after`: the
 * buckets in time order, each time's in group order. Reading stops as soon as the page and the
 * bucket after it are known, so a page costs the rows up to it. A page that ends with its last
 * time's buckets resumes at the next time: the next page does not read that last time again.
 */
export async function pageOfBuckets(
  rows: AsyncIterable<readonly AnalyticsRow[]>,
  query: AnalyticsQuery,
  pageSize: number,
  after?: PageCursor,
): Promise<{ buckets: Bucket[]; next?: PageCursor }> {
  const page: { group: string; bucket: Bucket }[] = [];
  const grouping = groupingOf(query);
  let time = Number.NaN;
  let groups = new Map<string, Bucket>();
  const settle = () => {
    // The default order of strings, by UTF-16 code units, is the order of `<`.
    for (const group of [...groups.keys()].sort()) {
      if (after && time === after.time && group <= after.group) continue;
      const bucket = groups.get(group)!;
      if (hasCounts(bucket)) page.push({ group, bucket });
    }
    groups = new Map();
  };
  reading: for await (const batch of rows) {
    for (const row of batch) {
      const rowTime = row.time.getTime();
      if (rowTime !== time) {
        settle();
        if (page.length > pageSize) break reading;
        if (page.length === pageSize && counted(row, query)) return { buckets: page.map(({ bucket }) => bucket), next: { time: rowTime, group: "" } };
        time = rowTime;
      }
      if (!row.lookahead) addRow(groups, row, query, grouping);
    }
  }
  if (page.length <= pageSize) settle();
  if (page.length <= pageSize) return { buckets: page.map(({ bucket }) => bucket) };
  const served = page.slice(0, pageSize);
  const last = served.at(-1)!;
  return { buckets: served.map(({ bucket }) => bucket), next: { time: last.bucket.time.getTime(), group: last.group } };
}

function hasCounts(bucket: Bucket) {
  for (const _ in bucket.outcomes) return true;
  return false;
}

/** Whether a row adds to some bucket of the answer. */
function counted(row: AnalyticsRow, query: AnalyticsQuery) {
  for (const outcome in row.outcomes) if (row.outcomes[outcome]! > 0 && (!query.outcomes || query.outcomes.includes(outcome))) return true;
  return false;
}

interface Grouping {
  keyspace: boolean;
  key: boolean;
  identity: boolean;
  outcome: boolean;
  tag: boolean;
}

const groupingOf = ({ groupBy }: AnalyticsQuery): Grouping => ({
  keyspace: groupBy.has("keyspace"),
  key: groupBy.has("key"),
  identity: groupBy.has("identity"),
  outcome: groupBy.has("outcome"),
  tag: groupBy.has("tag"),
});

/** A bucket's tag and whether it counts overflowed tag sets. */
type TagGroup = readonly [tag: string, tagsOverflowed: boolean];
const UNTAGGED: readonly TagGroup[] = [["", false]];
const OVERFLOWED: readonly TagGroup[] = [["", true]];

/** Adds a row to the buckets of the groups it counts in: one, or one per tag or outcome when grouped by those. */
function addRow(groups: Map<string, Bucket>, row: AnalyticsRow, query: AnalyticsQuery, grouping: Grouping) {
  const keyspaceId = grouping.keyspace ? row.keyspaceId : "";
  const keyId = grouping.key ? row.keyId : "";
  const externalId = grouping.identity ? row.externalId : "";
  const tags = !grouping.tag ? UNTAGGED : row.overflow ? OVERFLOWED : row.tags.length === 0 ? UNTAGGED : row.tags.map((tag): TagGroup => [tag, false]);
  // A group's sort key, also held by page tokens, is the JSON array of its values
  // (`["","key_…","","","",false]`), written a value at a time, which is the same string and costs
  // less than stringifying an array; the values a row's groups share are written once.
  const head = `[${json(keyspaceId)},${json(keyId)},${json(externalId)},`;
  for (const [tag, tagsOverflowed] of tags) {
    const tail = `,${json(tag)},${tagsOverflowed}]`;
    if (!grouping.outcome) {
      const bucket = bucketOf(groups, `${head}""${tail}`, row.time, keyspaceId, keyId, externalId, "", tag, tagsOverflowed);
      addCounts(bucket, row, query);
      continue;
    }
    for (const outcome in row.outcomes) {
      if (row.outcomes[outcome]! > 0) {
        const bucket = bucketOf(groups, `${head}${json(outcome)}${tail}`, row.time, keyspaceId, keyId, externalId, outcome, tag, tagsOverflowed);
        addCounts(bucket, row, query);
      }
    }
  }
}

/** The bucket of the group whose sort key is `group`, started when the group has none yet. */
function bucketOf(
  groups: Map<string, Bucket>,
  group: string,
  time: Date,
  keyspaceId: string,
  keyId: string,
  externalId: string,
  outcome: string,
  tag: string,
  tagsOverflowed: boolean,
): Bucket {
  let bucket = groups.get(group);
  if (!bucket) groups.set(group, (bucket = { time, keyspaceId, keyId, externalId, outcome, tag, tagsOverflowed, outcomes: {}, credits: 0 }));
  return bucket;
}

/** Adds a row's counts to a bucket: those of its outcome when it is grouped by outcome, and only those the query counts. */
function addCounts(bucket: Bucket, row: AnalyticsRow, query: AnalyticsQuery) {
  for (const outcome in row.outcomes) {
    const count = row.outcomes[outcome]!;
    if (count === 0 || (query.outcomes && !query.outcomes.includes(outcome)) || (bucket.outcome && bucket.outcome !== outcome)) continue;
    bucket.outcomes[outcome] = (bucket.outcomes[outcome] ?? 0) + count;
    if (outcome === query.creditsOutcome) bucket.credits += row.credits;
  }
}

/** Characters JSON.stringify writes as they are: printable ASCII but the quote and the backslash. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A value as JSON.stringify writes it; ids and most tags need no escaping, and skip it. */
const json = (value: string) => (value === "" ? '""' : PLAIN_JSON.test(value) ? `"${value}"` : JSON.stringify(value));
