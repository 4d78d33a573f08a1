import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnalyticsRow, DEFAULT_RETENTION, type MinuteCount, rollUp, type RowFilter } from "../../../src/domain/analytics.js";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";

/** The behaviour every adapter's analytics must show; each adapter's test file runs it against a fresh store. */
export function analyticsContract(name: string, openStore: () => Promise<Store>) {
  describe(`Analytics store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openStore();
    });
    afterAll(async () => {
      await store.close();
    });

    const minute = Date.UTC(2026, 4, 10, 8, 30);
    const count = (workspaceId: string, overrides: Partial<MinuteCount> = {}): MinuteCount => ({
      source: "verification",
      workspaceId,
      keyspaceId: "ks_one",
      keyId: "key_one",
      externalId: "",
      tags: [],
      overflow: false,
      minute,
      outcomes: { valid: 1 },
      credits: 1,
      ...overrides,
    });
    const filter = (workspaceId: string, overrides: Partial<RowFilter> = {}): RowFilter => ({
      scope: "group",
      granularity: "minute",
      source: "verification",
      workspaceId,
      from: new Date(minute - 3_600_000),
      to: new Date(minute + 3_600_000),
      ...overrides,
    });
    const read = async (rows: AsyncIterable<AnalyticsRow>) => {
      const all: AnalyticsRow[] = [];
      for await (const row of rows) all.push(row);
      return all;
    };

    it("sums rows added at once by several writers exactly, making each row on first use", async () => {
      const workspaceId = newId("ws", Date.now());
      const rows = rollUp([count(workspaceId, { outcomes: { valid: 2, rate_limited: 1 }, credits: 2 })], DEFAULT_RETENTION);
      await Promise.all(Array.from({ length: 8 }, () => store.analytics.add(rows)));
      const [minuteRow] = await read(store.analytics.rows(filter(workspaceId)));
      expect(minuteRow).toMatchObject({ keyId: "key_one", outcomes: { valid: 16, rate_limited: 8 }, credits: 16, time: new Date(minute) });
      const [monthTotal] = await read(store.analytics.rows(filter(workspaceId, { scope: "keyspace", granularity: "month", from: new Date(Date.UTC(2026, 4, 1)) })));
      expect(monthTotal).toMatchObject({ keyspaceId: "ks_one", keyId: "", outcomes: { valid: 16, rate_limited: 8 }, credits: 16, time: new Date(Date.UTC(2026, 4, 1)) });
    });

    it("reads rows of the filter's workspace, granularity, scope, source and range only, in time order", async () => {
      const workspaceId = newId("ws", Date.now());
      const minutes = [minute + 120_000, minute, minute - 60_000, minute + 7_200_000];
      await store.analytics.add(rollUp(minutes.map((at) => count(workspaceId, { minute: at })), DEFAULT_RETENTION));
      await store.analytics.add(rollUp([count(newId("ws", Date.now())), count(workspaceId, { source: "ratelimit" })], DEFAULT_RETENTION));
      const rows = await read(store.analytics.rows(filter(workspaceId)));
      expect(rows.map((row) => row.time.getTime())).toEqual([minute - 60_000, minute, minute + 120_000]);
      expect(rows.every((row) => row.scope === "group" && row.granularity === "minute" && row.workspaceId === workspaceId)).toBe(true);
      expect(await read(store.analytics.rows(filter(workspaceId, { source: "ratelimit" })))).toHaveLength(1);
    });

    it("filters by keyspaces, keys, external ids and tags (every one named), and keeps overflow apart", async () => {
      const workspaceId = newId("ws", Date.now());
      await store.analytics.add(
        rollUp(
          [
            count(workspaceId, { tags: ["a", "b"], externalId: "acme" }),
            count(workspaceId, { tags: ["a"], keyId: "key_two" }),
            count(workspaceId, { keyspaceId: "ks_two", keyId: "key_three" }),
            count(workspaceId, { overflow: true }),
          ],
          DEFAULT_RETENTION,
        ),
      );
      const keys = async (overrides: Partial<RowFilter>) =>
        (await read(store.analytics.rows(filter(workspaceId, overrides)))).map((row) => `${row.keyId}${row.overflow ? " overflow" : ""}`).sort();
      expect(await keys({ tags: ["a"] })).toEqual(["key_one", "key_two"]);
      expect(await keys({ tags: ["b", "a"] })).toEqual(["key_one"]);
      expect(await keys({ keyspaceIds: ["ks_two"] })).toEqual(["key_three"]);
      expect(await keys({ keyIds: ["key_one", "key_three"] })).toEqual(["key_one", "key_one overflow", "key_three"]);
      expect(await keys({ externalIds: ["acme"] })).toEqual(["key_one"]);
      const [row] = await read(store.analytics.rows(filter(workspaceId, { externalIds: ["acme"] })));
      expect(row).toMatchObject({ tags: ["a", "b"], overflow: false, source: "verification", keyspaceId: "ks_one" });
    });

    it("prunes one granularity's rows that started before a time, of every scope", async () => {
      const workspaceId = newId("ws", Date.now());
      await store.analytics.add(rollUp([count(workspaceId, { minute: minute - 60_000 }), count(workspaceId)], DEFAULT_RETENTION));
      await store.analytics.prune("minute", new Date(minute));
      expect((await read(store.analytics.rows(filter(workspaceId)))).map((row) => row.time.getTime())).toEqual([minute]);
      expect(await read(store.analytics.rows(filter(workspaceId, { scope: "keyspace" })))).toHaveLength(1);
      expect(await read(store.analytics.rows(filter(workspaceId, { granularity: "hour" })))).toHaveLength(1);
    });
  });
}
