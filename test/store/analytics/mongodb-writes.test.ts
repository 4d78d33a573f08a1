import { randomUUID } from "node:crypto";
import type { CommandStartedEvent, Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_RETENTION } from "../../../src/domain/analytics/buckets.js";
import type { MinuteCount } from "../../../src/domain/analytics/counts.js";
import type { DocumentFilter } from "../../../src/domain/analytics/document-filter.js";
import { type AnalyticsDocument, documentsOf } from "../../../src/domain/analytics/documents.js";
import { newId } from "../../../src/domain/ids.js";
import { MongoStore } from "../../../src/store/mongodb.js";
import { minuteCount } from "../../support/fixtures.js";

/** What a flush sends MongoDB for each document: every field of an update is work for the server, on every flush. */
describe("Analytics writes on MongoDB", () => {
  const databaseName = `latchkey_test_${randomUUID()}`;
  let store: MongoStore;
  const updates: { collection: string; update: Document }[] = [];
  beforeAll(async () => {
    store = await MongoStore.connect(inject("mongoUri"), databaseName, { monitorCommands: true });
    store.client.on("commandStarted", (event: CommandStartedEvent) => {
      if (event.commandName !== "update" || !String(event.command.update).startsWith("analytics_")) return;
      for (const statement of event.command.updates as { u: Document }[]) updates.push({ collection: event.command.update, update: statement.u });
    });
  });
  afterAll(async () => {
    await store.client.db(databaseName).dropDatabase();
    await store.close();
  });

  const minute = Date.UTC(2026, 4, 10, 8, 30);
  /** The group day documents, with their minutes, of the day `minute` falls in. */
  const minutesOfTheDay = (workspaceId: string): DocumentFilter => ({
    scope: "group",
    period: "day",
    part: "minutes",
    source: "verification",
    workspaceId,
    from: new Date(Date.UTC(2026, 4, 10)),
    to: new Date(Date.UTC(2026, 4, 11)),
  });
  const count = (workspaceId: string, overrides: Partial<MinuteCount> = {}) =>
    minuteCount(workspaceId, minute, { tags: ["plan.pro"], outcomes: { valid: 3 }, credits: 0, ...overrides });
  const read = async (filter: DocumentFilter) => {
    const all: AnalyticsDocument[] = [];
    for await (const document of store.analytics.documents(filter)) all.push(document);
    return all;
  };
  const incrementsIn = (collection: string) =>
    updates.filter((update) => update.collection === collection).map(({ update }) => Object.keys(update.$inc).sort());

  it("increments only counters that grow: a count that spent no credits writes no credits, and is read back with 0 credits at every level", async () => {
    const workspaceId = newId("ws", Date.now());
    updates.length = 0;
    await store.analytics.add(documentsOf([count(workspaceId)], DEFAULT_RETENTION, () => true));

    expect(incrementsIn("analytics_group_days")).toEqual([["hours.h08.outcomes.valid", "minutes.m0510.outcomes.valid", "outcomes.valid"]]);
    expect(incrementsIn("analytics_group_months")).toEqual([["outcomes.valid"]]);
    expect(incrementsIn("analytics_keys_days")).toEqual([["keys.kkey_one.outcomes.valid"]]);
    const stored = await store.client.db(databaseName).collection("analytics_group_days").findOne({ workspaceId });
    expect(stored).not.toHaveProperty("credits");
    expect(stored!.minutes.m0510).toEqual({ outcomes: { valid: 3 } });

    const filter = minutesOfTheDay(workspaceId);
    expect(await read(filter)).toMatchObject([{ outcomes: { valid: 3 }, credits: 0, minutes: { m0510: { outcomes: { valid: 3 }, credits: 0 } } }]);
    expect(await read({ ...filter, part: "hours" })).toMatchObject([{ credits: 0, hours: { h08: { outcomes: { valid: 3 }, credits: 0 } } }]);
    expect(await read({ ...filter, scope: "keys", part: "keys" })).toMatchObject([{ keys: new Map([["kkey_one", { outcomes: { valid: 3 }, credits: 0 }]]) }]);
  });

  it("sends no empty $inc (which MongoDB before 5.0 refuses) for a keys document that only marks its day as past the key budget", async () => {
    const workspaceId = newId("ws", Date.now());
    updates.length = 0;
    await store.analytics.add(documentsOf([count(workspaceId)], DEFAULT_RETENTION, () => false));
    const [keys] = updates.filter((update) => update.collection === "analytics_keys_days").map(({ update }) => update);
    expect(keys).not.toHaveProperty("$inc");
    expect(keys!.$set).toEqual({ keysOverflowed: true });
  });

  it("adds credits spent later to a document first written without them", async () => {
    const workspaceId = newId("ws", Date.now());
    await store.analytics.add(documentsOf([count(workspaceId)], DEFAULT_RETENTION, () => true));
    await store.analytics.add(documentsOf([count(workspaceId, { credits: 2 })], DEFAULT_RETENTION, () => true));
    const [day] = await read(minutesOfTheDay(workspaceId));
    expect(day).toMatchObject({ outcomes: { valid: 6 }, credits: 2, minutes: { m0510: { outcomes: { valid: 6 }, credits: 2 } } });
  });
});
