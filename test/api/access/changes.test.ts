import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../../src/domain/key.js";
import { MemoryStore } from "../../../src/store/memory.js";
import type { KeyChange, Store } from "../../../src/store/store.js";
import { testApi } from "../../support/api.js";
import { buildWorld } from "../../support/world.js";
import { RPC_CASES } from "./rpc-cases.js";

/** Store methods that write one key, and where the key they wrote is: their first argument, or what they return. */
const KEY_WRITES: Record<string, (args: unknown[], result: unknown) => KeyRecord | null> = {
  insertKey: (args) => args[0] as KeyRecord,
  updateKey: (_, result) => result as KeyRecord | null,
  changeKeyGrants: (_, result) => result as KeyRecord | null,
  replaceSecret: (_, result) => result as KeyRecord | null,
  updateCredits: (_, result) => result as KeyRecord | null,
  deleteKey: (_, result) => result as KeyRecord | null,
};

/** What a call wrote: each key (as last written), whole keyspaces, and every key of a workspace. */
interface Written {
  keys: Map<string, KeyRecord>;
  keyspaces: Set<string>;
  workspaces: Set<string>;
}

/** A store telling what each call writes of keys, so the changes the call published can be held against it. */
function recordingStore(): { store: Store; written: Written } {
  const written: Written = { keys: new Map(), keyspaces: new Set(), workspaces: new Set() };
  const store = new Proxy(new MemoryStore(), {
    get(target, name, receiver) {
      const member = Reflect.get(target, name, receiver);
      if (typeof member !== "function" || typeof name !== "string") return member;
      return async (...args: unknown[]) => {
        const result = await member.apply(target, args);
        const key = KEY_WRITES[name]?.(args, result);
        if (key) written.keys.set(key.id, key);
        if (name === "deleteKeysInKeyspace") written.keyspaces.add(args[0] as string);
        if (name === "removeGrantEverywhere") written.workspaces.add(args[0] as string);
        return result;
      };
    },
  });
  return { store, written };
}

/** Whether a published change makes every cache drop what it held of the key: by id (every digest, a rerolled key's previous one too) and its current digest. */
const coversKey = (change: KeyChange, key: KeyRecord) => change.keyId === key.id && change.hash === key.hash && change.workspaceId === key.workspaceId;

describe("every mutation publishes what it changed", () => {
  const mutations = RPC_CASES.filter((rpcCase) => rpcCase.action !== undefined);

  it.each(mutations)("$rpc: a change covers every key it wrote, by id and current digest", async ({ call }) => {
    const { store, written } = recordingStore();
    const api = testApi(store);
    const world = await buildWorld(api, await api.workspace());
    const before = await store.lastChangeSeq();
    written.keys.clear();
    written.keyspaces.clear();
    written.workspaces.clear();

    await call(world.clients, world);

    const published = await store.changesAfter(before, 10_000);
    for (const key of written.keys.values()) {
      const wholeKeyspace = published.some((change) => change.keyspaceId === key.keyspaceId && change.keyId === undefined);
      expect(wholeKeyspace || published.some((change) => coversKey(change, key)), `no change covers key ${key.id}`).toBe(true);
    }
    for (const keyspaceId of written.keyspaces) expect(published.map((change) => change.keyspaceId)).toContain(keyspaceId);
    for (const workspaceId of written.workspaces) {
      expect(published.some((change) => change.workspaceId === workspaceId && change.keyId === undefined && change.keyspaceId === undefined)).toBe(true);
    }
  });

  it("the key mutations are among those checked, and each writes a key", async () => {
    const keyMutations = mutations.filter(({ rpc }) => rpc.startsWith("KeyService/"));
    expect(keyMutations.map(({ rpc }) => rpc)).toEqual(
      expect.arrayContaining([
        "KeyService/CreateKey",
        "KeyService/UpdateKey",
        "KeyService/RerollKey",
        "KeyService/RevokeKey",
        "KeyService/DeleteKey",
        "KeyService/UpdateCredits",
        "KeyService/ImportKeys",
      ]),
    );
    for (const { rpc, call } of keyMutations) {
      const { store, written } = recordingStore();
      const api = testApi(store);
      const world = await buildWorld(api, await api.workspace());
      written.keys.clear();
      await call(world.clients, world);
      expect(written.keys.size, rpc).toBeGreaterThan(0);
    }
  });
});
