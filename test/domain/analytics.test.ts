import { describe, expect, it } from "vitest";
import {
  type AnalyticsQuery,
  bucketStart,
  checkRange,
  DEFAULT_RETENTION,
  type DocumentFilter,
  documentMatches,
  documentsOf,
  type MinuteCount,
  nextBucket,
  PARTS_LEFT_OUT,
  pageOfBuckets,
  rowsOf,
} from "../../src/domain/analytics.js";
import { DomainError } from "../../src/domain/errors.js";

const at = (iso: string) => Date.parse(iso);

const count = (overrides: Partial<MinuteCount> = {}): MinuteCount => ({
  source: "verification",
  workspaceId: "ws_a",
  keyspaceId: "ks_a",
  keyId: "key_a",
  externalId: "",
  tags: [],
  overflow: false,
  minute: at("2026-03-31T23:59:00Z"),
  outcomes: { valid: 2, rate_limited: 1 },
  credits: 2,
  ...overrides,
});

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

describe("buckets", () => {
  it("start on UTC boundaries, months on their first day", () => {
    const time = at("2026-02-28T23:59:59.999Z");
    expect(new Date(bucketStart("minute", time)).toISOString()).toBe("2026-02-28T23:59:00.000Z");
    expect(new Date(bucketStart("hour", time)).toISOString()).toBe("2026-02-28T23:00:00.000Z");
    expect(new Date(bucketStart("day", time)).toISOString()).toBe("2026-02-28T00:00:00.000Z");
    expect(new Date(bucketStart("month", time)).toISOString()).toBe("2026-02-01T00:00:00.000Z");
    expect(new Date(nextBucket("month", bucketStart("month", time))).toISOString()).toBe("2026-03-01T00:00:00.000Z");
    expect(new Date(nextBucket("month", at("2026-12-01T00:00:00Z"))).toISOString()).toBe("2027-01-01T00:00:00.000Z");
  });

  it("refuses a range out of order or longer than its granularity allows, naming end_time", () => {
    const from = new Date(at("2026-01-01T00:00:00Z"));
    expect(() => checkRange("minute", from, from)).toThrow("end_time must be after start_time");
    expect(() => checkRange("minute", from, new Date(from.getTime() + 86_400_001))).toThrow(DomainError);
    expect(() => checkRange("minute", from, new Date(from.getTime() + 86_400_000))).not.toThrow();
    expect(() => checkRange("hour", from, new Date(from.getTime() + 93 * 86_400_000))).toThrow("may be at most 92 days after start_time at hour granularity");
  });
});

describe("documentsOf", () => {
  const everyKey = () => true;

  it("adds each minute count to its group's day and month documents (totals, hour and minute) and its keyspace's, two documents each", () => {
    const documents = documentsOf(
      [
        count(),
        count({ minute: at("2026-03-31T23:58:00Z"), tags: ["b"], outcomes: { valid: 1 }, credits: 1 }),
        count({ keyId: "key_b", minute: at("2026-04-01T00:00:00Z") }),
      ],
      DEFAULT_RETENTION,
      everyKey,
    );
    const find = (scope: string, period: string, keyId: string, time: string, tags: string[] = []) =>
      documents.filter(
        (document) =>
          document.scope === scope &&
          document.period === period &&
          document.keyId === keyId &&
          document.time.toISOString() === time &&
          document.tags.join() === tags.join(),
      );
    expect(find("group", "day", "key_a", "2026-03-31T00:00:00.000Z")).toMatchObject([
      {
        outcomes: { valid: 2, rate_limited: 1 },
        credits: 2,
        hours: { h23: { outcomes: { valid: 2, rate_limited: 1 }, credits: 2 } },
        minutes: { m1439: { outcomes: { valid: 2, rate_limited: 1 } } },
      },
    ]);
    expect(find("group", "day", "key_a", "2026-03-31T00:00:00.000Z", ["b"])).toMatchObject([{ minutes: { m1438: { outcomes: { valid: 1 }, credits: 1 } } }]);
    expect(find("keyspace", "day", "", "2026-03-31T00:00:00.000Z")).toMatchObject([{ outcomes: { valid: 3, rate_limited: 1 }, credits: 3 }]);
    expect(find("keys", "day", "", "2026-03-31T00:00:00.000Z")).toMatchObject([{ keys: { kkey_a: { outcomes: { valid: 3, rate_limited: 1 }, credits: 3 } } }]);
    expect(find("keyspace", "month", "", "2026-04-01T00:00:00.000Z")).toMatchObject([{ outcomes: { valid: 2, rate_limited: 1 }, credits: 2 }]);
    expect(find("keyspace", "month", "", "2026-03-01T00:00:00.000Z")[0]!.expiresAt.toISOString()).toBe(
      new Date(at("2026-04-01T00:00:00Z") + DEFAULT_RETENTION.month).toISOString(),
    );
    // 3 groups over 2 days and 2 months: a day and a month document each (6), the keyspace's day and month of each (4), and its keys of each day (2).
    expect(documents.length).toBe(12);
    expect(new Set(documents.map((document) => document.id)).size).toBe(documents.length);
  });

  it("writes the same documents for a group however many events and minutes of the day it holds", () => {
    const minutes = Array.from({ length: 1440 }, (_, i) => count({ minute: at("2026-03-31T00:00:00Z") + i * 60_000 }));
    expect(documentsOf(minutes, DEFAULT_RETENTION, everyKey).length).toBe(5);
  });

  it("gives a document the same id wherever it is made, and different groups different ids", () => {
    const [first] = documentsOf([count()], DEFAULT_RETENTION, everyKey);
    const [again] = documentsOf([count({ minute: at("2026-03-31T01:01:00Z"), outcomes: { valid: 9 } })], DEFAULT_RETENTION, everyKey);
    const [other] = documentsOf([count({ externalId: "acme" })], DEFAULT_RETENTION, everyKey);
    expect(again!.id).toBe(first!.id);
    expect(other!.id).not.toBe(first!.id);
  });

  it("escapes identifiers into key fields and marks a keyspace day whose keys were refused an entry", () => {
    const documents = documentsOf([count({ keyId: "a.b$c%d" }), count({ keyId: "key_refused" })], DEFAULT_RETENTION, (_, keyId) => keyId !== "key_refused");
    const keys = documents.find((document) => document.scope === "keys")!;
    expect(Object.keys(keys.keys!)).toEqual(["ka%2Eb%24c%25d"]);
    expect(keys.keysOverflowed).toBe(true);
    expect(documents.find((document) => document.scope === "keyspace" && document.period === "day")!.outcomes).toEqual({ valid: 4, rate_limited: 2 });
  });
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
    expect(await lastRead(query({ granularity: "day", groupBy: new Set(["key"]) }))).toEqual(["keys day keys"]);
    expect(await lastRead(query({ granularity: "day", keyIds: ["key_a"] }))).toEqual(["keys day keys"]);
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

  it("pages through every bucket once, in time then group order, whatever the page size", async () => {
    const q = query({ granularity: "minute", groupBy: new Set(["key", "tag", "outcome"]) });
    const all = (await answer(q, 1000)).buckets;
    expect(all.length).toBe(6);
    for (const pageSize of [1, 2, 3, 6]) {
      const seen = [];
      let after;
      do {
        const page = await pageOfBuckets(rowsOf(read, q, after), q, pageSize, after);
        expect(page.buckets.length).toBeLessThanOrEqual(pageSize);
        seen.push(...page.buckets);
        after = page.next;
      } while (after);
      expect(seen).toEqual(all);
    }
  });
});
