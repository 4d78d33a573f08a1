import { randomUUID } from "node:crypto";
import type { CommandStartedEvent } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { MongoStore } from "../../src/store/mongodb.js";
import { keyRecord } from "../support/fixtures.js";
import { storeContract } from "./contract.js";

storeContract("mongodb", () => MongoStore.connect(inject("mongoUri"), `latchkey_test_${randomUUID()}`));

describe("MongoStore keys by digest", () => {
  const databaseName = `latchkey_test_${randomUUID()}`;
  let store: MongoStore;
  const commands: CommandStartedEvent[] = [];
  beforeAll(async () => {
    store = await MongoStore.connect(inject("mongoUri"), databaseName, { monitorCommands: true });
    store.client.on("commandStarted", (event) => commands.push(event));
  });
  afterAll(async () => {
    await store.client.db(databaseName).dropDatabase();
    await store.close();
  });

  it("finds a key by its secret or previous secret with one query, and answers a miss with one query too", async () => {
    const key = keyRecord({ workspaceId: newId("ws", Date.now()) });
    await store.insertKey(key);
    const previous = { hash: key.hash, start: key.start, expiresAt: new Date(Date.now() + 60_000) };
    const rerolled = (await store.replaceSecret(key.id, key.hash, { hash: "f".repeat(64), start: "pay_f" }, previous, new Date()))!;
    const queriesFor = async (hash: string) => {
      commands.length = 0;
      const found = await store.findKeyByHash(key.workspaceId, hash);
      return { found: found?.id ?? null, queries: commands.filter((command) => command.commandName === "find").length };
    };
    expect(await queriesFor(rerolled.hash)).toEqual({ found: key.id, queries: 1 });
    expect(await queriesFor(key.hash)).toEqual({ found: key.id, queries: 1 });
    expect(await queriesFor("0".repeat(64))).toEqual({ found: null, queries: 1 });
    expect(await store.getKey(key.id)).toEqual(rerolled);
  });

  it("reads keys by id with a query of the id alone, which every server answers from the id index, and checks the workspace itself", async () => {
    const ours = keyRecord({ workspaceId: newId("ws", Date.now()) });
    const theirs = keyRecord({ workspaceId: newId("ws", Date.now()) });
    for (const key of [ours, theirs]) await store.insertKey(key);
    commands.length = 0;
    const found = await store.findKeysByIds(ours.workspaceId, [ours.id, theirs.id]);
    expect(found.map((key) => key.id)).toEqual([ours.id]);
    const finds = commands.filter((command) => command.commandName === "find");
    expect(finds.map((command) => command.command.filter)).toEqual([{ _id: { $in: [ours.id, theirs.id] } }]);
  });

  it("brings keys of earlier versions up to date at connect: digests per workspace, the global unique index gone", async () => {
    const legacyDatabase = `latchkey_test_${randomUUID()}`;
    const keys = store.client.db(legacyDatabase).collection<{ _id: string; [field: string]: unknown }>("keys");
    await keys.createIndex({ hash: 1 }, { name: "hash_unique", unique: true });
    await keys.createIndex({ "previousSecret.hash": 1 }, { name: "previous_hash" });
    const rerolled = keyRecord({ workspaceId: newId("ws", Date.now()), previousSecret: { hash: "1".repeat(64), start: "pay_1", expiresAt: new Date() } });
    const plain = keyRecord({ workspaceId: newId("ws", Date.now()) });
    for (const { id, meta, claims, ...fields } of [rerolled, plain])
      await keys.insertOne({ _id: id, ...fields, metaJson: JSON.stringify(meta), claimsJson: JSON.stringify(claims) });
    const upgraded = await MongoStore.connect(inject("mongoUri"), legacyDatabase);
    try {
      expect((await upgraded.findKeyByHash(rerolled.workspaceId, "1".repeat(64)))?.id).toBe(rerolled.id);
      expect((await upgraded.findKeyByHash(plain.workspaceId, plain.hash))?.id).toBe(plain.id);
      expect(await upgraded.getKey(plain.id)).toEqual(plain);
      const names = (await keys.indexes()).map((index) => index.name);
      expect(names).toContain("workspace_digests_unique");
      expect(names).not.toContain("hash_unique");
      await upgraded.insertKey(keyRecord({ workspaceId: newId("ws", Date.now()), hash: plain.hash }));
    } finally {
      await store.client.db(legacyDatabase).dropDatabase();
      await upgraded.close();
    }
  });
});
