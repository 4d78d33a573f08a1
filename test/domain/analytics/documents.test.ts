import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION } from "../../../src/domain/analytics/buckets.js";
import { documentsOf } from "../../../src/domain/analytics/documents.js";
import { at, count } from "./minute-counts.js";

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
    expect(find("keys", "day", "", "2026-03-31T00:00:00.000Z").map((document) => document.keys)).toEqual([
      new Map([["kkey_a", { outcomes: { valid: 3, rate_limited: 1 }, credits: 3 }]]),
    ]);
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
    expect([...keys.keys!.keys()]).toEqual(["ka%2Eb%24c%25d"]);
    expect(keys.keysOverflowed).toBe(true);
    expect(documents.find((document) => document.scope === "keyspace" && document.period === "day")!.outcomes).toEqual({ valid: 4, rate_limited: 2 });
  });
});
