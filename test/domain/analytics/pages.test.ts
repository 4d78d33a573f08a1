import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION } from "../../../src/domain/analytics/buckets.js";
import { type DocumentFilter, documentMatches, PARTS_LEFT_OUT } from "../../../src/domain/analytics/document-filter.js";
import { documentsOf } from "../../../src/domain/analytics/documents.js";
import { pageOfBuckets } from "../../../src/domain/analytics/pages.js";
import type { AnalyticsQuery } from "../../../src/domain/analytics/query.js";
import { rowsOf } from "../../../src/domain/analytics/rows.js";
import { at, count } from "./minute-counts.js";

const query = (overrides: Partial<AnalyticsQuery> = {}): AnalyticsQuery => ({
  source: "verification",
  workspaceId: "ws_a",
  creditsOutcome: "valid",
  groupBy: new Set(),
  granularity: "minute",
  from: new Date(at("2026-03-31T00:00:00Z")),
  to: new Date(at("2026-04-02T00:00:00Z")),
  ...overrides,
});

describe("pages of buckets", () => {
  const documents = documentsOf(
    [
      count({ keyId: "key_a", externalId: "acme", tags: ["x", "y"], outcomes: { valid: 3 }, credits: 6 }),
      count({ keyId: "key_b", tags: ["y"], outcomes: { valid: 1, usage_exceeded: 2 }, credits: 1, minute: at("2026-03-31T23:58:00Z") }),
      count({ keyId: "key_b", overflow: true, outcomes: { forbidden: 4 }, credits: 0 }),
      count({ keyspaceId: "", keyId: "", outcomes: { not_found: 5 }, credits: 0, minute: at("2026-04-01T00:01:00Z") }),
    ],
    DEFAULT_RETENTION,
    () => true,
  );
  const reads: DocumentFilter[] = [];
  const read = async function* (filter: DocumentFilter) {
    reads.push(filter);
    for (const document of [...documents].sort((a, b) => a.time.getTime() - b.time.getTime())) {
      if (!documentMatches(document, filter)) continue;
      const copy = structuredClone(document);
      for (const part of PARTS_LEFT_OUT[filter.part]) delete copy[part];
      yield copy;
    }
  };
  const answer = async (q: AnalyticsQuery, pageSize = 100) => pageOfBuckets(rowsOf(read, q), q, pageSize);
  const lastRead = async (q: AnalyticsQuery) => {
    reads.length = 0;
    await answer(q);
    return reads.map(({ scope, period, part }) => `${scope} ${period} ${part}`);
  };

  it("reads keyspace totals when nothing below the keyspace is asked for, and the keys' totals when only keys are, by day", async () => {
    expect(await lastRead(query({ groupBy: new Set(["outcome", "keyspace"]) }))).toEqual(["keyspace day minutes"]);
    expect(await lastRead(query({ granularity: "month" }))).toEqual(["keyspace month totals"]);
    const keysOfEachDay = ["keyspace day totals", "keys day keys", "keys day keys"];
    expect(await lastRead(query({ granularity: "day", groupBy: new Set(["key"]) }))).toEqual(keysOfEachDay);
    expect(await lastRead(query({ granularity: "day", keyIds: ["key_a"] }))).toEqual(keysOfEachDay);
    expect(await lastRead(query({ granularity: "hour", groupBy: new Set(["key"]) }))).toEqual(["group day hours"]);
    expect(await lastRead(query({ granularity: "day", tags: ["x"] }))).toEqual(["group day totals"]);
    const { buckets } = await answer(query({ granularity: "day" }));
    expect(buckets.map((bucket) => [bucket.time.toISOString(), bucket.outcomes, bucket.credits])).toEqual([
      ["2026-03-31T00:00:00.000Z", { valid: 4, usage_exceeded: 2, forbidden: 4 }, 7],
      ["2026-04-01T00:00:00.000Z", { not_found: 5 }, 0],
    ]);
  });

  it("groups by tag, counting a verification under each of its tags, and overflowed tag sets apart", async () => {
    const { buckets } = await answer(query({ granularity: "hour", groupBy: new Set(["tag"]), to: new Date(at("2026-04-01T00:00:00Z")) }));
    expect(buckets.map((bucket) => [bucket.tag, bucket.tagsOverflowed, bucket.outcomes])).toEqual([
      ["", true, { forbidden: 4 }],
      ["x", false, { valid: 3 }],
      ["y", false, { valid: 4, usage_exceeded: 2 }],
    ]);
  });

  it("filters by tags (all of them), outcomes and keys, with credits only where valid verifications are counted", async () => {
    const tagged = await answer(query({ granularity: "month", tags: ["x", "y"], to: new Date(at("2026-04-01T00:00:00Z")) }));
    expect(tagged.buckets.map((bucket) => [bucket.outcomes, bucket.credits])).toEqual([[{ valid: 3 }, 6]]);
    const refused = await answer(query({ granularity: "minute", outcomes: ["usage_exceeded", "forbidden"], groupBy: new Set(["key", "outcome"]) }));
    expect(refused.buckets.map((bucket) => [bucket.time.toISOString(), bucket.keyId, bucket.outcome, bucket.outcomes, bucket.credits])).toEqual([
      ["2026-03-31T23:58:00.000Z", "key_b", "usage_exceeded", { usage_exceeded: 2 }, 0],
      ["2026-03-31T23:59:00.000Z", "key_b", "forbidden", { forbidden: 4 }, 0],
    ]);
    const byIdentity = await answer(query({ granularity: "day", externalIds: ["acme"], groupBy: new Set(["identity"]) }));
    expect(byIdentity.buckets.map((bucket) => [bucket.externalId, bucket.outcomes])).toEqual([["acme", { valid: 3 }]]);
  });

  it("pages through every bucket once, in time then group order, whatever the page size, and never ends with an empty page", async () => {
    const queries: [AnalyticsQuery, number][] = [
      [query({ granularity: "minute", groupBy: new Set(["key", "tag", "outcome"]) }), 6],
      [query({ granularity: "day", groupBy: new Set(["key"]) }), 3],
      [query({ granularity: "day", groupBy: new Set(["key"]), outcomes: ["valid"] }), 2],
      [query({ granularity: "day", groupBy: new Set(["key"]), outcomes: ["not_found"] }), 1],
    ];
    for (const [q, buckets] of queries) {
      const all = (await answer(q, 1000)).buckets;
      expect(all.length).toBe(buckets);
      for (const pageSize of [1, 2, 3, 6]) {
        const seen = [];
        let after;
        do {
          const page = await pageOfBuckets(rowsOf(read, q, after), q, pageSize, after);
          expect(page.buckets.length).toBeGreaterThan(0);
          expect(page.buckets.length).toBeLessThanOrEqual(pageSize);
          seen.push(...page.buckets);
          after = page.next;
        } while (after);
        expect(seen).toEqual(all);
      }
    }
  });

  it("names a page's last group in its cursor as the JSON array of the group's values, as page tokens have held it, whatever characters the values hold", async () => {
    const odd = documentsOf(
      [
        count({ externalId: 'quote " backslash \\ tab \t ünï 🎉', tags: ["a\u0001b"] }),
        count({ externalId: "plain", overflow: true, outcomes: { forbidden: 1 }, credits: 0 }),
      ],
      DEFAULT_RETENTION,
      () => true,
    );
    const readOdd = async function* (filter: DocumentFilter) {
      for (const document of odd) if (documentMatches(document, filter)) yield structuredClone(document);
    };
    const q = query({ granularity: "day", groupBy: new Set(["keyspace", "identity", "tag", "outcome"]) });
    const groups: string[] = [];
    let after;
    do {
      const page = await pageOfBuckets(rowsOf(readOdd, q, after), q, 1, after);
      const [bucket] = page.buckets;
      groups.push(JSON.stringify([bucket!.keyspaceId, bucket!.keyId, bucket!.externalId, bucket!.outcome, bucket!.tag, bucket!.tagsOverflowed]));
      if (page.next) expect(page.next.group).toBe(groups.at(-1));
      after = page.next;
    } while (after);
    expect(groups).toEqual([...groups].sort());
    expect(groups).toHaveLength(3);
  });

  it("ends a page of keys with a day without reading the next day's keys, learning from its totals that another page follows", async () => {
    const q = query({ granularity: "day", groupBy: new Set(["key"]) });
    let keysDocumentsRead = 0;
    const counting = async function* (filter: DocumentFilter) {
      for await (const document of read(filter)) {
        if (document.scope === "keys") keysDocumentsRead++;
        yield document;
      }
    };
    const first = await pageOfBuckets(rowsOf(counting, q), q, 2);
    expect(first.buckets.map((bucket) => bucket.keyId)).toEqual(["key_a", "key_b"]);
    expect(first.next).toEqual({ time: at("2026-04-01T00:00:00Z"), group: "" });
    expect(keysDocumentsRead).toBe(1);
    const valid = query({ granularity: "day", groupBy: new Set(["key"]), outcomes: ["valid"] });
    expect((await pageOfBuckets(rowsOf(counting, valid), valid, 2)).next).toBeUndefined();
  });
});
