import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION, type Granularity } from "../../src/domain/analytics/buckets.js";
import type { DocumentFilter } from "../../src/domain/analytics/document-filter.js";
import type { AnalyticsDocument, DocumentPeriod } from "../../src/domain/analytics/documents.js";
import type { AnalyticsQuery } from "../../src/domain/analytics/query.js";
import { type AnalyticsRow, rowsOf } from "../../src/domain/analytics/rows.js";
import { createLogger } from "../../src/observability/log.js";
import { DocumentsNotWritten } from "../../src/store/analytics/index.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { Store } from "../../src/store/store.js";
import { AnalyticsRecorder, MAX_KEY_ENTRIES_PER_DAY } from "../../src/verify/analytics-recorder.js";

const clock = { now: Date.UTC(2026, 5, 1, 10, 0, 30) };

function recorder(store: Store, maxGroupsPerMinute = 100) {
  const written = { rows: 0, failures: 0 };
  const figures = { rowsWritten: (n: number) => (written.rows += n), flushFailed: () => written.failures++, rowsDropped: () => {} };
  const analytics = new AnalyticsRecorder(store, {
    enabled: true,
    flushMs: 1000,
    maxGroupsPerMinute,
    retention: DEFAULT_RETENTION,
    now: () => clock.now,
    log: createLogger("silent"),
    figures,
  });
  return { analytics, written };
}

async function readAll(documents: AsyncIterable<AnalyticsDocument>) {
  const all: AnalyticsDocument[] = [];
  for await (const document of documents) all.push(document);
  return all;
}

/** The rows a query of this granularity reads: of the keyspace's totals, or of the groups (grouped by key). */
async function rowsIn(store: Store, scope: "group" | "keyspace", granularity: Granularity, overrides: Partial<AnalyticsQuery> = {}) {
  const rows: AnalyticsRow[] = [];
  const query: AnalyticsQuery = {
    source: "verification",
    workspaceId: "ws_one",
    creditsOutcome: "valid",
    groupBy: new Set(scope === "group" ? ["identity"] : []),
    granularity,
    from: new Date(Date.UTC(2026, 0)),
    to: new Date(Date.UTC(2027, 0)),
    ...overrides,
  };
  for await (const batch of rowsOf((filter) => store.analytics.documents(filter), query)) rows.push(...batch.filter((row) => !row.lookahead));
  return rows;
}

const verify = (analytics: AnalyticsRecorder, outcome: string, tags: string[] = [], keyId = "key_one", credits = 0) =>
  analytics.count("verification", "ws_one", "ks_one", keyId, "acme", outcome, tags, credits);

describe("AnalyticsRecorder", () => {
  it("coalesces a group's events into one row per bucket, whatever the order of its tags, and writes nothing until it flushes", async () => {
    const store = new MemoryStore();
    const { analytics, written } = recorder(store);
    for (let i = 0; i < 1000; i++)
      verify(analytics, i % 4 === 0 ? "rate_limited" : "valid", i % 2 ? ["b", "a"] : ["a", "b", "a"], "key_one", i % 4 === 0 ? 0 : 1);
    expect(await rowsIn(store, "group", "minute")).toEqual([]);
    await analytics.flush();
    const [row] = await rowsIn(store, "group", "minute");
    expect(row).toMatchObject({ keyId: "key_one", externalId: "acme", tags: ["a", "b"], outcomes: { valid: 750, rate_limited: 250 }, credits: 750 });
    // One group: its day and month documents, the keyspace's two, and the keyspace's keys of the day.
    expect(written.rows).toBe(5);
    await analytics.flush();
    expect(written.rows).toBe(5);
  });

  it("writes two documents per group per flush and three per keyspace, however many events and minutes of the day they hold", async () => {
    const store = new MemoryStore();
    const { analytics, written } = recorder(store, 10_000);
    const keys = Array.from({ length: 1000 }, (_, i) => `key_${i}`);
    for (let minute = 0; minute < 3; minute++) {
      for (let i = 0; i < 20; i++) for (const keyId of keys) verify(analytics, i % 5 === 0 ? "rate_limited" : "valid", ["route.a", "plan.pro"], keyId);
      clock.now += 60_000;
    }
    clock.now -= 180_000;
    await analytics.flush();
    expect(written.rows).toBe(2 * keys.length + 3);
    const byKey = await rowsIn(store, "keyspace", "day", { groupBy: new Set(["key"]) });
    expect(byKey.length).toBe(keys.length);
    expect(byKey.every((row) => row.outcomes.valid === 48 && row.outcomes.rate_limited === 12)).toBe(true);
  });

  it("lets other work run between the steps of a large flush, so that answers are not held until it ends", async () => {
    const store = new MemoryStore();
    const { analytics, written } = recorder(store, 10_000);
    for (let i = 0; i < 5000; i++) verify(analytics, "valid", [], `key_${i}`);
    let writtenWhenOtherWorkRan = -1;
    const flushed = analytics.flush();
    setImmediate(() => (writtenWhenOtherWorkRan = written.rows));
    await flushed;
    expect(writtenWhenOtherWorkRan).toBe(0);
    const midWrite: number[] = [];
    for (let i = 0; i < 5000; i++) verify(analytics, "valid", [], `key_${i}`);
    const before = written.rows;
    const writing = analytics.flush();
    const sampleUntilDone = () => {
      midWrite.push(written.rows - before);
      if (written.rows - before < 2 * 5000 + 3) setImmediate(sampleUntilDone);
    };
    setImmediate(sampleUntilDone);
    await writing;
    expect(midWrite.some((rows) => rows > 0 && rows < 2 * 5000 + 3)).toBe(true);
  });

  it("sends a flush's documents one kind (scope and period) after another, so that a store call holds documents of one kind except where two kinds meet", async () => {
    const store = new MemoryStore();
    const kindsPerCall: number[] = [];
    const add = store.analytics.add.bind(store.analytics);
    store.analytics.add = async (documents) => {
      kindsPerCall.push(new Set(documents.map((document) => `${document.scope} ${document.period}`)).size);
      await add(documents);
    };
    const { analytics } = recorder(store, 10_000);
    for (let i = 0; i < 1000; i++) verify(analytics, "valid", ["route.a"], `key_${i}`);
    await analytics.flush();
    // 1,000 group day documents, 1,000 group month documents and 3 of the keyspace (one of each of
    // its kinds): 21 calls of at most 100, of which only those where kinds meet (at most one per
    // kind after the first of the five) hold more than one.
    expect(kindsPerCall.length).toBe(21);
    expect(kindsPerCall.filter((kinds) => kinds > 1).length).toBeLessThanOrEqual(4);
  });

  it("gives at most MAX_KEY_ENTRIES_PER_DAY keys an entry in a keyspace's keys of the day, and answers by key exactly still", async () => {
    const store = new MemoryStore();
    const { analytics } = recorder(store, 100_000);
    const keys = Array.from({ length: MAX_KEY_ENTRIES_PER_DAY + 5 }, (_, i) => `key_${i}`);
    for (const keyId of keys) verify(analytics, "valid", [], keyId);
    await analytics.flush();
    verify(analytics, "valid", [], keys.at(-1));
    await analytics.flush();
    const [keysOfDay] = await readAll(
      store.analytics.documents({
        scope: "keys",
        period: "day",
        part: "keys",
        source: "verification",
        workspaceId: "ws_one",
        from: new Date(0),
        to: new Date(Date.UTC(2100, 0)),
      }),
    );
    expect(keysOfDay!.keys!.size).toBe(MAX_KEY_ENTRIES_PER_DAY);
    expect(keysOfDay!.keysOverflowed).toBe(true);
    const byKey = await rowsIn(store, "keyspace", "day", { groupBy: new Set(["key"]), keyIds: keys.slice(-3) });
    expect(byKey.map((row) => [row.keyId, row.outcomes.valid])).toEqual([
      [keys.at(-3), 1],
      [keys.at(-2), 1],
      [keys.at(-1), 2],
    ]);
  });

  it("bounds what a flood of rate-limit identifiers writes by the workspace's budget of groups", async () => {
    const store = new MemoryStore();
    const { analytics, written } = recorder(store, 100);
    for (let i = 0; i < 100_000; i++) analytics.recordLimit("ws_one", "login", `attacker-${i}`, false);
    await analytics.flush();
    // 100 identifiers and the namespace's overflow group, two documents each; the namespace's day, month and keys.
    expect(written.rows).toBe(2 * 101 + 3);
    const [overflow] = await rowsIn(store, "group", "day", { source: "ratelimit", keyIds: [""] });
    expect(overflow).toMatchObject({ keyspaceId: "login", keyId: "", overflow: true, outcomes: { refused: 100_000 - 100 } });
  });

  it("counts events of another minute in that minute's rows", async () => {
    const store = new MemoryStore();
    const { analytics } = recorder(store);
    verify(analytics, "valid");
    clock.now += 60_000;
    verify(analytics, "valid");
    verify(analytics, "expired");
    await analytics.flush();
    clock.now -= 60_000;
    expect((await rowsIn(store, "group", "minute")).map((row) => row.outcomes)).toEqual([{ valid: 1 }, { valid: 1, expired: 1 }]);
    expect((await rowsIn(store, "keyspace", "hour")).map((row) => row.outcomes)).toEqual([{ valid: 2, expired: 1 }]);
  });

  it("counts tag sets beyond the workspace's budget for the minute in one overflow group per key, and keeps untagged groups", async () => {
    const store = new MemoryStore();
    const { analytics } = recorder(store, 3);
    for (let i = 0; i < 10; i++) verify(analytics, "valid", [`tag${i}`]);
    await analytics.flush();
    // A flush within the minute does not renew the budget: the groups opened before still count.
    verify(analytics, "valid", ["tag0"]);
    verify(analytics, "valid", ["new"]);
    verify(analytics, "valid", [], "key_two");
    await analytics.flush();
    const rows = await rowsIn(store, "group", "hour");
    const byGroup = Object.fromEntries(rows.map((row) => [`${row.keyId} ${row.overflow ? "overflow" : row.tags.join()}`, row.outcomes.valid]));
    expect(byGroup).toEqual({ "key_one tag0": 2, "key_one tag1": 1, "key_one tag2": 1, "key_one overflow": 8, "key_two ": 1 });
  });

  it("keeps rows the store refused and adds them to the next flush, so nothing is lost or counted twice", async () => {
    const inner = new MemoryStore();
    let refuse: "all" | "some" | "none" = "all";
    const failing = Object.create(inner) as MemoryStore;
    Object.defineProperty(failing, "analytics", {
      value: {
        add: async (documents: readonly AnalyticsDocument[]) => {
          if (refuse === "all") throw new Error("the database cannot be reached");
          if (refuse === "some") {
            await inner.analytics.add(documents.filter((document) => document.scope === "group"));
            throw new DocumentsNotWritten(documents.filter((document) => document.scope === "keyspace").map((document) => document.id));
          }
          await inner.analytics.add(documents);
        },
        documents: (filter: DocumentFilter) => inner.analytics.documents(filter),
        prune: (period: DocumentPeriod, before: Date) => inner.analytics.prune(period, before),
        pruneFields: (part: "hours" | "minutes", before: Date) => inner.analytics.pruneFields(part, before),
      },
    });
    const { analytics, written } = recorder(failing);
    verify(analytics, "valid");
    await analytics.flush();
    verify(analytics, "valid");
    refuse = "some";
    await analytics.flush();
    expect((await rowsIn(inner, "group", "day")).map((row) => row.outcomes)).toEqual([{ valid: 2 }]);
    expect(await rowsIn(inner, "keyspace", "day")).toEqual([]);
    refuse = "none";
    verify(analytics, "valid");
    await analytics.stop();
    expect((await rowsIn(inner, "group", "day")).map((row) => row.outcomes)).toEqual([{ valid: 3 }]);
    expect((await rowsIn(inner, "keyspace", "day")).map((row) => row.outcomes)).toEqual([{ valid: 3 }]);
    expect(written.failures).toBe(2);
  });

  it("prunes each granularity's counts past its retention, keeping the coarser ones", async () => {
    const store = new MemoryStore();
    const { analytics } = recorder(store);
    verify(analytics, "valid");
    await analytics.flush();
    // The day document's minutes go once the whole day is past the minutes' retention.
    const later = DEFAULT_RETENTION.minute + 86_400_000;
    clock.now += later;
    await analytics.prune();
    clock.now -= later;
    expect(await rowsIn(store, "group", "minute")).toEqual([]);
    expect(await rowsIn(store, "keyspace", "minute")).toEqual([]);
    expect(await rowsIn(store, "group", "hour")).toHaveLength(1);
  });
});
