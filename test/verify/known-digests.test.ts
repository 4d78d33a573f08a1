import { describe, expect, it } from "vitest";
import { digestSecret, issueSecret } from "../../src/domain/secret.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { DigestFilter, KnownDigests } from "../../src/verify/known-digests.js";
import { keyRecord, keyspaceRecord, rootKeyRecord } from "../support/fixtures.js";

const digests = (count: number, salt: string) => Array.from({ length: count }, (_, index) => digestSecret(`${salt}-${index}`));

describe("DigestFilter", () => {
  it("has every digest added, and few it was not given", () => {
    const filter = new DigestFilter(10_000);
    const added = digests(10_000, "added");
    for (const digest of added) filter.add(digest);
    expect(added.every((digest) => filter.has(digest))).toBe(true);
    const falsePositives = digests(100_000, "other").filter((digest) => filter.has(digest)).length;
    // 16 bits and 8 probes per digest: about 0.06 % when full.
    expect(falsePositives).toBeLessThan(200);
    expect(filter.full).toBe(false);
    filter.add(digestSecret("one more"));
    expect(filter.full).toBe(true);
  });
});

describe("KnownDigests", () => {
  async function storeWithKeys() {
    const store = new MemoryStore();
    const keyspace = keyspaceRecord();
    await store.keyspaces.insert(keyspace);
    const key = keyRecord({ keyspaceId: keyspace.id, hash: issueSecret("pay", 16, 4).digest });
    await store.insertKey(key);
    const rootKey = rootKeyRecord({ hash: issueSecret("root", 32, 4).digest });
    await store.rootKeys.insert(rootKey);
    return { store, key, rootKey };
  }

  it("lets every digest through until built, then only keys' and root keys' digests", async () => {
    const { store, key, rootKey } = await storeWithKeys();
    const known = new KnownDigests(store, { rebuildMs: 60_000, catchUp: async () => {}, log: createLogger("silent") });
    const stranger = digestSecret("never issued");
    expect(known.mayExist(stranger)).toBe(true);
    await known.rebuild();
    expect([known.mayExist(key.hash), known.mayExist(rootKey.hash), await known.mayExist(stranger)]).toEqual([true, true, false]);
  });

  it("learns new digests from the change feed, including those arriving during a rebuild", async () => {
    const { store } = await storeWithKeys();
    const known = new KnownDigests(store, { rebuildMs: 60_000, catchUp: async () => {}, log: createLogger("silent") });
    await known.rebuild();
    const created = digestSecret("created elsewhere");
    known.evict({ keyId: "key_x", hash: created });
    expect(known.mayExist(created)).toBe(true);
    const duringRebuild = digestSecret("created during the rebuild");
    const rebuilding = known.rebuild();
    known.evict({ rootKeyHash: duringRebuild });
    await rebuilding;
    expect(known.mayExist(duringRebuild)).toBe(true);
  });

  it("grows: a filter filled past its capacity is rebuilt larger", async () => {
    const { store } = await storeWithKeys();
    const known = new KnownDigests(store, { rebuildMs: 60_000, catchUp: async () => {}, log: createLogger("silent") });
    await known.rebuild();
    const before = known.stats.bytes;
    const keyspace = keyspaceRecord();
    for (const digest of digests(10_000, "grown")) {
      await store.insertKey(keyRecord({ keyspaceId: keyspace.id, hash: digest }));
      known.evict({ hash: digest });
    }
    await known.rebuild();
    expect(known.stats.bytes).toBeGreaterThan(before);
    expect(digests(10_000, "grown").every((digest) => known.mayExist(digest) === true)).toBe(true);
  });

  it("before ruling a digest out, waits for the change feed to catch up: a key just created elsewhere is found", async () => {
    const { store } = await storeWithKeys();
    const created = digestSecret("created elsewhere a moment ago");
    let caughtUp = 0;
    const known: KnownDigests = new KnownDigests(store, {
      rebuildMs: 60_000,
      catchUp: async () => {
        caughtUp++;
        known.evict({ hash: created });
      },
      log: createLogger("silent"),
    });
    await known.rebuild();
    expect(await known.mayExist(created)).toBe(true);
    expect(caughtUp).toBe(1);
    expect(known.mayExist(created)).toBe(true);
  });

  it("keeps the old filter when a rebuild fails", async () => {
    const { store, key } = await storeWithKeys();
    const known = new KnownDigests(store, { rebuildMs: 60_000, catchUp: async () => {}, log: createLogger("silent") });
    await known.rebuild();
    store.countDigests = () => Promise.reject(new Error("down"));
    await known.rebuild();
    expect([known.mayExist(key.hash), await known.mayExist(digestSecret("never issued"))]).toEqual([true, false]);
  });
});
