import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RETENTION } from "../../../src/domain/analytics/buckets.js";
import type { MinuteCount } from "../../../src/domain/analytics/counts.js";
import type { DocumentFilter } from "../../../src/domain/analytics/document-filter.js";
import { type AnalyticsDocument, documentsOf } from "../../../src/domain/analytics/documents.js";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";
import { minuteCount } from "../../support/fixtures.js";

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
    const day = Date.UTC(2026, 4, 10);
    const count = (workspaceId: string, overrides: Partial<MinuteCount> = {}) => minuteCount(workspaceId, minute, overrides);
    const documentsFor = (counts: MinuteCount[]) => documentsOf(counts, DEFAULT_RETENTION, () => true);
    const filter = (workspaceId: string, overrides: Partial<DocumentFilter> = {}): DocumentFilter => ({
      scope: "group",
      period: "day",
      part: "totals",
      source: "verification",
      workspaceId,
      from: new Date(day - 86_400_000),
      to: new Date(day + 86_400_000),
      ...overrides,
    });
    const read = async (documents: AsyncIterable<AnalyticsDocument>) => {
      const all: AnalyticsDocument[] = [];
      for await (const document of documents) all.push(document);
      return all;
    };

    it("sums documents added at once by several writers exactly, at every level, making each document on first use", async () => {
      const workspaceId = newId("ws", Date.now());
      const documents = documentsFor([count(workspaceId, { outcomes: { valid: 2, rate_limited: 1 }, credits: 2, keyId: "key.one$" })]);
      await Promise.all(Array.from({ length: 8 }, () => store.analytics.add(documents)));
      const [minutes] = await read(store.analytics.documents(filter(workspaceId, { part: "minutes" })));
      expect(minutes).toMatchObject({
        keyId: "key.one$",
        outcomes: { valid: 16, rate_limited: 8 },
        credits: 16,
        time: new Date(day),
        minutes: { m0510: { outcomes: { valid: 16, rate_limited: 8 }, credits: 16 } },
      });
      expect(minutes!.hours).toBeUndefined();
      const [hours] = await read(store.analytics.documents(filter(workspaceId, { part: "hours" })));
      expect(hours).toMatchObject({ hours: { h08: { outcomes: { valid: 16, rate_limited: 8 }, credits: 16 } } });
      expect(hours!.minutes).toBeUndefined();
      const [keys] = await read(store.analytics.documents(filter(workspaceId, { scope: "keys", part: "keys" })));
      expect(keys).toMatchObject({ keyspaceId: "ks_one", keyId: "" });
      expect(keys!.keys).toEqual(new Map([["kkey%2Eone%24", { outcomes: { valid: 16, rate_limited: 8 }, credits: 16 }]]));
      const [monthTotal] = await read(
        store.analytics.documents(filter(workspaceId, { scope: "keyspace", period: "month", from: new Date(Date.UTC(2026, 4, 1)) })),
      );
      expect(monthTotal).toMatchObject({
        keyspaceId: "ks_one",
        keyId: "",
        outcomes: { valid: 16, rate_limited: 8 },
        credits: 16,
        time: new Date(Date.UTC(2026, 4, 1)),
      });
      expect(monthTotal!.keys).toBeUndefined();
    });

    it("keeps a day's mark that some keys had no entry once any writer set it", async () => {
      const workspaceId = newId("ws", Date.now());
      await store.analytics.add(documentsFor([count(workspaceId)]));
      await store.analytics.add(documentsOf([count(workspaceId, { keyId: "key_two" })], DEFAULT_RETENTION, () => false));
      await store.analytics.add(documentsFor([count(workspaceId)]));
      const [keys] = await read(store.analytics.documents(filter(workspaceId, { scope: "keys", part: "keys" })));
      expect(keys).toMatchObject({ keysOverflowed: true });
      expect([...keys!.keys!.keys()]).toEqual(["kkey_one"]);
      expect(keys!.keys!.get("kkey_one")).toMatchObject({ outcomes: { valid: 2 } });
    });

    it("reads documents of the filter's workspace, scope, period, source and range only, in time order", async () => {
      const workspaceId = newId("ws", Date.now());
      const minutes = [minute + 86_400_000, minute, minute - 86_400_000, minute + 3 * 86_400_000];
      await store.analytics.add(documentsFor(minutes.map((at) => count(workspaceId, { minute: at }))));
      await store.analytics.add(documentsFor([count(newId("ws", Date.now())), count(workspaceId, { source: "ratelimit" })]));
      const documents = await read(store.analytics.documents(filter(workspaceId, { to: new Date(day + 2 * 86_400_000) })));
      expect(documents.map((document) => document.time.getTime())).toEqual([day - 86_400_000, day, day + 86_400_000]);
      expect(documents.every((document) => document.scope === "group" && document.period === "day" && document.workspaceId === workspaceId)).toBe(true);
      expect(await read(store.analytics.documents(filter(workspaceId, { source: "ratelimit" })))).toHaveLength(1);
    });

    it("reads keyspace and keys documents of named keyspaces in time order, from the first period starting at or after `from` to before `to`", async () => {
      const workspaceId = newId("ws", Date.now());
      const minutes = [minute + 86_400_000, minute, minute - 86_400_000, minute + 3 * 86_400_000, minute - 20 * 86_400_000];
      await store.analytics.add(
        documentsFor([
          ...minutes.map((at) => count(workspaceId, { minute: at })),
          count(workspaceId, { keyspaceId: "ks_two", keyId: "key_two" }),
          count(workspaceId, { keyspaceId: "ks_three", keyId: "key_three" }),
          count(workspaceId, { source: "ratelimit" }),
          count(newId("ws", Date.now())),
        ]),
      );
      // Starting within the day before `day`: that day's documents started before `from`.
      const range = { from: new Date(day - 1), to: new Date(day + 3 * 86_400_000) };
      for (const [scope, part] of [
        ["keyspace", "totals"],
        ["keyspace", "hours"],
        ["keys", "keys"],
      ] as const) {
        const documents = await read(store.analytics.documents(filter(workspaceId, { scope, part, keyspaceIds: ["ks_one", "ks_two"], ...range })));
        expect(documents.map((document) => [document.time.getTime(), document.keyspaceId, document.scope, document.source])).toEqual(
          expect.arrayContaining([
            [day, "ks_one", scope, "verification"],
            [day, "ks_two", scope, "verification"],
            [day + 86_400_000, "ks_one", scope, "verification"],
          ]),
        );
        expect(documents.map((document) => document.time.getTime())).toEqual([day, day, day + 86_400_000]);
        expect(documents.every((document) => document.workspaceId === workspaceId)).toBe(true);
      }
      const months = await read(
        store.analytics.documents(
          filter(workspaceId, {
            scope: "keyspace",
            period: "month",
            keyspaceIds: ["ks_one"],
            from: new Date(Date.UTC(2026, 2, 15)),
            to: new Date(Date.UTC(2026, 5, 1)),
          }),
        ),
      );
      expect(months.map((document) => [document.time.toISOString(), document.outcomes])).toEqual([
        ["2026-04-01T00:00:00.000Z", { valid: 1 }],
        ["2026-05-01T00:00:00.000Z", { valid: 4 }],
      ]);
    });

    it("filters group documents by keyspaces, keys, external ids and tags (every one named), and keeps overflow apart", async () => {
      const workspaceId = newId("ws", Date.now());
      await store.analytics.add(
        documentsFor([
          count(workspaceId, { tags: ["a", "b"], externalId: "acme" }),
          count(workspaceId, { tags: ["a"], keyId: "key_two" }),
          count(workspaceId, { keyspaceId: "ks_two", keyId: "key_three" }),
          count(workspaceId, { overflow: true }),
        ]),
      );
      const keys = async (overrides: Partial<DocumentFilter>) =>
        (await read(store.analytics.documents(filter(workspaceId, overrides))))
          .map((document) => `${document.keyId}${document.overflow ? " overflow" : ""}`)
          .sort();
      expect(await keys({ tags: ["a"] })).toEqual(["key_one", "key_two"]);
      expect(await keys({ tags: ["b", "a"] })).toEqual(["key_one"]);
      expect(await keys({ keyspaceIds: ["ks_two"] })).toEqual(["key_three"]);
      expect(await keys({ keyIds: ["key_one", "key_three"] })).toEqual(["key_one", "key_one overflow", "key_three"]);
      expect(await keys({ externalIds: ["acme"] })).toEqual(["key_one"]);
      expect(await keys({ scope: "keyspace", keyIds: ["key_none"], tags: ["none"] })).toEqual(["", ""]);
      const [document] = await read(store.analytics.documents(filter(workspaceId, { externalIds: ["acme"] })));
      expect(document).toMatchObject({ tags: ["a", "b"], overflow: false, source: "verification", keyspaceId: "ks_one" });
    });

    it("prunes a period's documents that started before a time, and a day's minutes or hours, of every scope", async () => {
      const workspaceId = newId("ws", Date.now());
      await store.analytics.add(documentsFor([count(workspaceId, { minute: minute - 86_400_000 }), count(workspaceId)]));
      await store.analytics.pruneFields("minutes", new Date(day));
      const minutes = await read(store.analytics.documents(filter(workspaceId, { part: "minutes" })));
      expect(minutes.map((document) => [document.time.getTime(), document.minutes !== undefined])).toEqual([
        [day - 86_400_000, false],
        [day, true],
      ]);
      expect((await read(store.analytics.documents(filter(workspaceId, { part: "hours" })))).every((document) => document.hours !== undefined)).toBe(true);
      await store.analytics.pruneFields("hours", new Date(day));
      expect(
        (await read(store.analytics.documents(filter(workspaceId, { scope: "keyspace", part: "hours" })))).map((document) => document.hours !== undefined),
      ).toEqual([false, true]);
      await store.analytics.prune("day", new Date(day));
      expect((await read(store.analytics.documents(filter(workspaceId)))).map((document) => document.time.getTime())).toEqual([day]);
      expect(await read(store.analytics.documents(filter(workspaceId, { scope: "keyspace" })))).toHaveLength(1);
      expect(await read(store.analytics.documents(filter(workspaceId, { period: "month", from: new Date(Date.UTC(2026, 4, 1)) })))).toHaveLength(1);
    });
  });
}
