import { describe, expect, it } from "vitest";
import { type AnalyticsRow, DEFAULT_RETENTION, type Granularity, type RowFilter, type RowScope } from "../../src/domain/analytics.js";
import { createLogger } from "../../src/observability/log.js";
import { RowsNotWritten } from "../../src/store/analytics/index.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { Store } from "../../src/store/store.js";
import { AnalyticsRecorder } from "../../src/verify/analytics-recorder.js";

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

async function rowsOf(store: Store, scope: RowScope, granularity: Granularity, overrides: Partial<RowFilter> = {}) {
  const rows: AnalyticsRow[] = [];
  const filter = { scope, granularity, source: "verification", workspaceId: "ws_one", from: new Date(0), to: new Date(Date.UTC(2100, 0)), ...overrides };
  for await (const row of store.analytics.rows(filter)) rows.push(row);
  return rows;
}

const verify = (analytics: AnalyticsRecorder, outcome: string, tags: string[] = [], keyId = "key_one", credits = 0) =>
  analytics.count("verification", "ws_one", "ks_one", keyId, "acme", outcome, tags, credits);

describe("AnalyticsRecorder", () => {
  it("coalesces a group's events into one row per bucket, whatever the order of its tags, and writes nothing until it flushes", async () => {
    const store = new MemoryStore();
    const { analytics, written } = recorder(store);
    for (let i = 0; i < 1000; i++) verify(analytics, i % 4 === 0 ? "rate_limited" : "valid", i % 2 ? ["b", "a"] : ["a", "b", "a"], "key_one", i % 4 === 0 ? 0 : 1);
    expect(await rowsOf(store, "group", "minute")).toEqual([]);
    await analytics.flush();
    const [row] = await rowsOf(store, "group", "minute");
    expect(row).toMatchObject({ keyId: "key_one", externalId: "acme", tags: ["a", "b"], outcomes: { valid: 750, rate_limited: 250 }, credits: 750 });
    // One group: its minute, hour, day and month rows, and the keyspace's four.
    expect(written.rows).toBe(8);
    await analytics.flush();
    expect(written.rows).toBe(8);
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
    expect((await rowsOf(store, "group", "minute")).map((row) => row.outcomes)).toEqual([{ valid: 1 }, { valid: 1, expired: 1 }]);
    expect((await rowsOf(store, "keyspace", "hour")).map((row) => row.outcomes)).toEqual([{ valid: 2, expired: 1 }]);
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
    const rows = await rowsOf(store, "group", "hour");
    const byGroup = Object.fromEntries(rows.map((row) => [`${row.keyId} ${row.overflow ? "overflow" : row.tags.join()}`, row.outcomes.valid]));
    expect(byGroup).toEqual({ "key_one tag0": 2, "key_one tag1": 1, "key_one tag2": 1, "key_one overflow": 8, "key_two ": 1 });
  });

  it("keeps rows the store refused and adds them to the next flush, so nothing is lost or counted twice", async () => {
    const inner = new MemoryStore();
    let refuse: "all" | "some" | "none" = "all";
    const failing = Object.create(inner) as MemoryStore;
    Object.defineProperty(failing, "analytics", {
      value: {
        add: async (rows: readonly AnalyticsRow[]) => {
          if (refuse === "all") throw new Error("the database cannot be reached");
          if (refuse === "some") {
            await inner.analytics.add(rows.filter((row) => row.scope === "group"));
            throw new RowsNotWritten(rows.filter((row) => row.scope === "keyspace").map((row) => row.id));
          }
          await inner.analytics.add(rows);
        },
        rows: (filter: RowFilter) => inner.analytics.rows(filter),
        prune: (granularity: Granularity, before: Date) => inner.analytics.prune(granularity, before),
      },
    });
    const { analytics, written } = recorder(failing);
    verify(analytics, "valid");
    await analytics.flush();
    verify(analytics, "valid");
    refuse = "some";
    await analytics.flush();
    expect((await rowsOf(inner, "group", "day")).map((row) => row.outcomes)).toEqual([{ valid: 2 }]);
    expect(await rowsOf(inner, "keyspace", "day")).toEqual([]);
    refuse = "none";
    verify(analytics, "valid");
    await analytics.stop();
    expect((await rowsOf(inner, "group", "day")).map((row) => row.outcomes)).toEqual([{ valid: 3 }]);
    expect((await rowsOf(inner, "keyspace", "day")).map((row) => row.outcomes)).toEqual([{ valid: 3 }]);
    expect(written.failures).toBe(2);
  });

  it("prunes each granularity's rows past its retention", async () => {
    const store = new MemoryStore();
    const { analytics } = recorder(store);
    verify(analytics, "valid");
    await analytics.flush();
    clock.now += DEFAULT_RETENTION.minute + 120_000;
    await analytics.prune();
    clock.now -= DEFAULT_RETENTION.minute + 120_000;
    expect(await rowsOf(store, "group", "minute")).toEqual([]);
    expect(await rowsOf(store, "keyspace", "minute")).toEqual([]);
    expect(await rowsOf(store, "group", "hour")).toHaveLength(1);
  });
});
