import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { bucketStart, DEFAULT_RETENTION } from "../../src/domain/analytics/buckets.js";
import type { MinuteCount } from "../../src/domain/analytics/counts.js";
import type { DocumentFilter } from "../../src/domain/analytics/document-filter.js";
import { documentsOf } from "../../src/domain/analytics/documents.js";
import { pageOfBuckets } from "../../src/domain/analytics/pages.js";
import type { AnalyticsQuery, PageCursor } from "../../src/domain/analytics/query.js";
import { rowsOf } from "../../src/domain/analytics/rows.js";
import { newId } from "../../src/domain/ids.js";
import { MongoStore } from "../../src/store/mongodb.js";

const KEYS = 1000;
const DAYS = 30;

/**
 * What wide queries cost, counted in documents read: 30 days of counts for 1,000 keys of one
 * keyspace (the bench's query load, whose keys are counted every hour), on MongoDB. Only the keyspace's documents are loaded:
 * the groups' own documents live in other collections, which these queries do not read.
 */
describe("Analytics queries over 30 days of 1,000 keys", () => {
  const databaseName = `latchkey_test_${randomUUID()}`;
  const workspaceId = newId("ws", Date.now());
  const keyspaceId = newId("ks", Date.now());
  const keyIds = Array.from({ length: KEYS }, (_, i) => `key_${String(i).padStart(4, "0")}`);
  const firstDay = Date.UTC(2026, 5, 1);
  let store: MongoStore;
  const filters: DocumentFilter[] = [];
  let documentsRead = 0;
  let keysDocumentsRead = 0;
  const read = async function* (filter: DocumentFilter) {
    filters.push(filter);
    for await (const document of store.analytics.documents(filter)) {
      documentsRead++;
      if (document.scope === "keys") keysDocumentsRead++;
      yield document;
    }
  };
  /** The filter of every `find` the server was sent: a filter on anything but `_id` scans the collection on mongo-java-server. */
  const finds: Record<string, unknown>[] = [];
  /** The projection of every `find` of `keys` documents: they hold no hours or minutes, and a projection makes mongo-java-server copy each large document. */
  const keysProjections: unknown[] = [];

  beforeAll(async () => {
    store = await MongoStore.connect(inject("mongoUri"), databaseName, { monitorCommands: true });
    store.client.on("commandStarted", (event) => {
      if (event.commandName === "find" && String(event.command.find).startsWith("analytics_")) finds.push(event.command.filter);
      if (event.commandName === "find" && event.command.find === "analytics_keys_days") keysProjections.push(event.command.projection);
    });
    // Each key once a day, at an hour of its own: every hour of every day is counted.
    const counts: MinuteCount[] = [];
    for (let day = 0; day < DAYS; day++) {
      keyIds.forEach((keyId, i) => {
        const minute = firstDay + day * 86_400_000 + (i % 24) * 3_600_000;
        counts.push({
          source: "verification",
          workspaceId,
          keyspaceId,
          keyId,
          externalId: "",
          tags: [],
          overflow: false,
          minute,
          outcomes: { valid: 9, rate_limited: 1 },
          credits: 9,
        });
      });
    }
    const documents = documentsOf(counts, DEFAULT_RETENTION, () => true).filter((document) => document.scope !== "group");
    // Each day's totals and keys, and the month's totals.
    expect(documents.length).toBe(2 * DAYS + 1);
    await store.analytics.add(documents);
  }, 120_000);

  afterAll(async () => {
    await store.client.db(databaseName).dropDatabase();
    await store.close();
  });

  const query = (overrides: Partial<AnalyticsQuery> = {}): AnalyticsQuery => ({
    source: "verification",
    workspaceId,
    keyspaceIds: [keyspaceId],
    creditsOutcome: "valid",
    groupBy: new Set(),
    granularity: "day",
    from: new Date(firstDay),
    to: new Date(firstDay + DAYS * 86_400_000),
    ...overrides,
  });

  async function everyPage(q: AnalyticsQuery, pageSize: number) {
    documentsRead = 0;
    keysDocumentsRead = 0;
    filters.length = 0;
    finds.length = 0;
    keysProjections.length = 0;
    let buckets = 0;
    let pages = 0;
    let after: PageCursor | undefined;
    const started = performance.now();
    do {
      const page = await pageOfBuckets(rowsOf(read, q, after), q, pageSize, after);
      buckets += page.buckets.length;
      pages++;
      after = page.next;
    } while (after);
    const findsNotById = finds.filter((filter) => Object.keys(filter).join() !== "_id").length;
    return { buckets, pages, documentsRead, keysDocumentsRead, findsNotById, ms: Math.round(performance.now() - started) };
  }

  it("answers the keyspace by day from one document per day", async () => {
    for (let run = 0; run < 3; run++) {
      const answer = await everyPage(query(), 100);
      expect(answer).toMatchObject({ buckets: DAYS, pages: 1, documentsRead: DAYS, findsNotById: 0 });
      console.log(`[analytics reads] keyspace by day over 30 days: ${JSON.stringify(answer)}`);
    }
  });

  it("answers every key by day from the keyspace's day documents, by their ids: one keys document per page of 1,000 buckets, not one per key and day", async () => {
    for (let run = 0; run < 2; run++) {
      const answer = await everyPage(query({ groupBy: new Set(["key"]) }), 1000);
      expect(answer.buckets).toBe(KEYS * DAYS);
      expect(answer.pages).toBe(DAYS);
      // Each page reads its day's keys, and learns from the next day's totals that another page follows.
      expect(answer.keysDocumentsRead).toBe(DAYS);
      expect(answer.documentsRead - answer.keysDocumentsRead).toBeLessThanOrEqual(2 * DAYS);
      expect(answer.findsNotById).toBe(0);
      expect(keysProjections).toHaveLength(DAYS);
      expect(keysProjections.every((projection) => projection === undefined)).toBe(true);
      expect(filters.every((filter) => (filter.scope === "keys" && filter.part === "keys") || (filter.scope === "keyspace" && filter.part === "totals"))).toBe(
        true,
      );
      console.log(`[analytics reads] by key by day over 30 days, every page: ${JSON.stringify(answer)}`);
    }
  });

  it("answers one key's 30 days from the 30 keys documents, found through the 30 day totals", async () => {
    const answer = await everyPage(query({ keyIds: [keyIds[7]!] }), 100);
    expect(answer).toMatchObject({ buckets: DAYS, pages: 1, keysDocumentsRead: DAYS, documentsRead: 2 * DAYS, findsNotById: 0 });
  });

  it("reads a day's hours from the same documents, 24 buckets each", async () => {
    const answer = await everyPage(query({ granularity: "hour", to: new Date(firstDay + 2 * 86_400_000) }), 1000);
    expect(answer).toMatchObject({ buckets: 48, documentsRead: 2, findsNotById: 0 });
    expect(bucketStart("day", firstDay)).toBe(firstDay);
  });
});
