import { describe, expect, it, vi } from "vitest";
import { digestSecret, issueSecret } from "../../src/domain/secret.js";
import type { VerifiableKey } from "../../src/domain/verification.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { CACHE_REFRESH_BATCH_MS, CACHE_TTL_MS, CACHE_TTL_SPREAD, createVerification, DEFAULT_VERIFICATION_OPTIONS } from "../../src/verify/index.js";
import type { BoundedCache } from "../../src/verify/bounded-cache.js";
import { keyChanged } from "../../src/verify/change-feed.js";
import { KeyCache, type KeyCacheOptions } from "../../src/verify/key-cache.js";
import { MAX_REFRESH_BATCH } from "../../src/verify/key-refresh-batches.js";
import { countingStore } from "../support/counting-store.js";
import { FIXTURE_WORKSPACE as WS, keyRecord, keyspaceRecord, verifyRequest } from "../support/fixtures.js";

/** The cache's settings in these tests, with what a test sets itself. */
const cacheOptions = (options: Pick<KeyCacheOptions, "known" | "maxEntries" | "maxBytes" | "now"> & Partial<KeyCacheOptions>): KeyCacheOptions => ({
  maxMisses: 10,
  workspaceShare: 1,
  ttlMs: 60_000,
  staleMs: 600_000,
  refreshBatchMs: 20,
  missTtlMs: 10_000,
  ...options,
});

/** A load the test finishes by hand. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

async function world() {
  const { store, calls } = countingStore(new MemoryStore());
  const keyspace = keyspaceRecord();
  await store.keyspaces.insert(keyspace);
  const keys = await Promise.all(
    ["user_a", "user_b"].map(async (externalId) => {
      const issued = issueSecret("pay", 16, 4);
      const record = keyRecord({ keyspaceId: keyspace.id, hash: issued.digest, externalId, roles: externalId === "user_a" ? ["admin"] : [] });
      await store.insertKey(record);
      return { record, secret: issued.secret, digest: issued.digest };
    }),
  );
  const clock = { now: Date.now() };
  const known = new Set(keys.map((key) => key.digest));
  const cache = new KeyCache(
    store,
    cacheOptions({
      known: { mayExist: (digest) => known.has(digest) || digest === digestSecret("nobody") },
      maxEntries: 10,
      maxBytes: 1024 * 1024,
      now: () => clock.now,
    }),
  );
  calls.clear();
  return { store, calls, keyspace, keys, cache, clock, reads: () => calls.get("findKeyByHash") ?? 0, refreshReads: () => calls.get("findKeysByIds") ?? 0 };
}

describe("KeyCache", () => {
  it("loads a key once, remembers unknown digests too, and counts hits and loads", async () => {
    const { cache, keys, reads } = await world();
    const [a] = keys;
    expect((await cache.lookup(WS, a!.digest))?.record.id).toBe(a!.record.id);
    expect(cache.lookup(WS, a!.digest)).not.toBeInstanceOf(Promise);
    expect(await cache.lookup(WS, digestSecret("nobody"))).toBeNull();
    expect(cache.lookup(WS, digestSecret("nobody"))).toBeNull();
    expect(reads()).toBe(2);
    expect(cache.stats).toMatchObject({ entries: 1, misses: 1, hits: 2, loads: 2 });
  });

  it("answers a digest the known-digest filter rules out as unknown, without a read", async () => {
    const { cache, reads } = await world();
    expect(await cache.lookup(WS, digestSecret("never issued"))).toBeNull();
    expect(reads()).toBe(0);
    expect(cache.stats).toMatchObject({ filtered: 1, loads: 0 });
  });

  it("evicts by digest, by keyspace, and by an identity's or a role's workspace", async () => {
    const { cache, keys, keyspace } = await world();
    const [a] = keys;
    const warm = () => Promise.all(keys.map((key) => cache.lookup(WS, key.digest)));
    const cached = () => keys.map((key) => cache.peek(WS, key.digest) !== undefined);
    await warm();
    cache.evict(keyChanged(a!.record));
    expect(cached()).toEqual([false, true]);
    await warm();
    cache.evict({ workspaceId: a!.record.workspaceId, externalId: "user_b" });
    expect(cached()).toEqual([true, false]);
    await warm();
    cache.evict({ workspaceId: a!.record.workspaceId, role: "admin" });
    expect(cached()).toEqual([false, true]);
    await warm();
    cache.evict({ keyspaceId: keyspace.id });
    expect(cached()).toEqual([false, false]);
    await warm();
    cache.evict({ workspaceId: a!.record.workspaceId, keyspaceId: keyspace.id });
    expect(cached()).toEqual([false, false]);
    await warm();
    cache.evict({ workspaceId: "ws_someone_else" });
    cache.evict({ workspaceId: "ws_someone_else", role: "admin" });
    expect(cached()).toEqual([true, true]);
  });

  it("looks only at the named workspace's keys when a workspace-wide change comes, however many others are cached", async () => {
    const { cache, keys, store, keyspace } = await world();
    const others = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const issued = issueSecret("pay", 16, 4);
        const workspaceId = `ws_other_${i}`;
        await store.insertKey(keyRecord({ keyspaceId: keyspace.id, workspaceId, hash: issued.digest }));
        return { workspaceId, digest: issued.digest };
      }),
    );
    await Promise.all([...keys.map((key) => cache.lookup(WS, key.digest)), ...others.map(({ workspaceId, digest }) => cache.lookup(workspaceId, digest))]);
    const probe = (cache as unknown as { keys: BoundedCache<unknown> }).keys;
    const scanned: string[] = [];
    probe.deleteWhere = () => scanned.push("every workspace");
    const deleteInPartition = probe.deleteInPartition.bind(probe);
    probe.deleteInPartition = (name, stale) => {
      scanned.push(name);
      deleteInPartition(name, stale);
    };
    cache.evict({ workspaceId: WS, role: "admin" });
    expect(scanned).toEqual([WS]);
    expect(others.map(({ workspaceId, digest }) => cache.peek(workspaceId, digest) !== undefined)).toEqual(others.map(() => true));
  });

  it("does not keep a load that raced with a change to the key", async () => {
    const { cache, keys, store } = await world();
    const [a] = keys;
    const loading = cache.lookup(WS, a!.digest);
    await store.updateKey(a!.record.id, { enabled: false }, {});
    cache.evict(keyChanged(a!.record));
    await loading;
    expect(cache.peek(WS, a!.digest)).toBeUndefined();
    expect((await cache.lookup(WS, a!.digest))?.record.enabled).toBe(false);
  });

  it("a flood of keys and unknown digests from one workspace does not evict another workspace's keys", async () => {
    const { store, calls } = countingStore(new MemoryStore());
    const keyspace = keyspaceRecord();
    await store.keyspaces.insert(keyspace);
    const insert = async (workspaceId: string) => {
      const issued = issueSecret("pay", 16, 4);
      await store.insertKey(keyRecord({ workspaceId, keyspaceId: keyspace.id, hash: issued.digest }));
      return issued.digest;
    };
    const hot = await Promise.all(Array.from({ length: 4 }, () => insert("ws_a")));
    const flood = await Promise.all(Array.from({ length: 100 }, () => insert("ws_b")));
    const cache = new KeyCache(
      store,
      cacheOptions({ known: { mayExist: () => true }, maxEntries: 10, maxBytes: 1024 * 1024, workspaceShare: 0.5, now: Date.now }),
    );
    for (const digest of hot) await cache.lookup("ws_a", digest);
    const unknownToA = ["1", "2", "3"].map((n) => n.repeat(64));
    for (const digest of unknownToA) await cache.lookup("ws_a", digest);
    for (const digest of flood) await cache.lookup("ws_b", digest);
    for (let i = 0; i < 100; i++) await cache.lookup("ws_b", digestSecret(`made up ${i}`));
    calls.clear();
    for (const digest of hot) expect(cache.lookup("ws_a", digest)).not.toBeInstanceOf(Promise);
    for (const digest of unknownToA) expect(cache.lookup("ws_a", digest)).toBeNull();
    expect(calls.size).toBe(0);
    expect(cache.held("ws_b")).toEqual({ keys: 6, misses: 7 });
    expect(cache.held("ws_a")).toEqual({ keys: 4, misses: 3 });
  });

  it("answers a key past its time at once, and refreshes it with one read however many ask", async () => {
    const { cache, keys, clock, reads, refreshReads, store } = await world();
    const [a] = keys;
    await cache.lookup(WS, a!.digest);
    await store.updateKey(a!.record.id, { name: "renamed" }, {});
    clock.now += 60_000;
    const answers = Array.from({ length: 20 }, () => cache.lookup(WS, a!.digest));
    for (const answer of answers) expect(answer).not.toBeInstanceOf(Promise);
    await vi.waitFor(() => expect((cache.peek(WS, a!.digest) as VerifiableKey).record.name).toBe("renamed"));
    expect([reads(), refreshReads()]).toEqual([1, 1]);
    expect(cache.stats).toMatchObject({ loads: 1, refreshes: 1 });
    clock.now += 59_000;
    cache.lookup(WS, a!.digest);
    expect([reads(), refreshReads()]).toEqual([1, 1]);
  });

  it("a refresh that finds a key changed only by its use keeps the compiled key, with the use and the balance it read, until its next time", async () => {
    const { cache, clock, store, keys, refreshReads } = await world();
    const [{ record, digest }] = keys as [(typeof keys)[number]];
    await store.updateKey(record.id, { credits: { remaining: 100, refill: null } }, {});
    const compiled = (await cache.lookup(WS, digest)) as VerifiableKey;
    const usedAt = new Date(clock.now + 1000);
    await store.recordKeyUse([{ id: record.id, at: usedAt }]);
    expect(await store.takeCreditShare(record.id, "elsewhere", 10, 5, new Date(clock.now + 15_000))).toBe(true);
    clock.now += 60_000;
    expect(cache.lookup(WS, digest)).toBe(compiled);
    await vi.waitFor(() => expect(cache.stats.refreshes).toBe(1));
    await new Promise((resolve) => setImmediate(resolve));
    const refreshed = cache.peek(WS, digest) as VerifiableKey;
    expect(refreshed).toBe(compiled);
    expect(refreshed.record.lastUsedAt).toEqual(usedAt);
    expect(refreshed.record.credits).toMatchObject({ remaining: 90, shares: { elsewhere: { unclaimed: 5 } } });
    clock.now += 59_000;
    cache.lookup(WS, digest);
    expect(refreshReads()).toBe(1);
    await store.updateKey(record.id, { permissions: ["documents.write"] }, {});
    clock.now += 1000;
    cache.lookup(WS, digest);
    await vi.waitFor(() => expect((cache.peek(WS, digest) as VerifiableKey).permissions).toEqual(["documents.write"]));
    expect(cache.peek(WS, digest)).not.toBe(compiled);
  });

  it("refreshes every key found past its time within the batch window with one store call, a rerolled key's previous secret too", async () => {
    const { cache, keys, clock, calls, store } = await world();
    const [a, b] = keys;
    const next = issueSecret("pay", 16, 4);
    await store.replaceSecret(
      b!.record.id,
      b!.digest,
      { hash: next.digest, start: "pay_n" },
      { hash: b!.digest, start: b!.record.start, expiresAt: new Date(clock.now + 600_000) },
      new Date(clock.now),
    );
    for (const key of keys) await cache.lookup(WS, key.digest);
    await store.updateKey(a!.record.id, { name: "renamed" }, {});
    calls.clear();
    clock.now += 60_000;
    for (const key of keys) expect(cache.lookup(WS, key.digest)).not.toBeInstanceOf(Promise);
    await vi.waitFor(() => expect(cache.stats.refreshes).toBe(2));
    await vi.waitFor(() => expect((cache.peek(WS, a!.digest) as VerifiableKey).record.name).toBe("renamed"));
    expect([calls.get("findKeyByHash"), calls.get("findKeysByIds")]).toEqual([undefined, 1]);
    expect((cache.peek(WS, b!.digest) as VerifiableKey).record.hash).toBe(next.digest);
  });

  it(`refreshes N cached keys with ceil(N / ${MAX_REFRESH_BATCH}) store reads, all by id`, async () => {
    const { store, calls } = countingStore(new MemoryStore());
    const keyspace = keyspaceRecord();
    await store.keyspaces.insert(keyspace);
    const digests = await Promise.all(
      Array.from({ length: MAX_REFRESH_BATCH + 1 }, async () => {
        const record = keyRecord({ keyspaceId: keyspace.id });
        await store.insertKey(record);
        return record.hash;
      }),
    );
    const clock = { now: Date.now() };
    const cache = new KeyCache(
      store,
      cacheOptions({ known: { mayExist: () => true }, maxEntries: digests.length, maxBytes: 64 * 1024 * 1024, now: () => clock.now }),
    );
    for (const digest of digests) await cache.lookup(WS, digest);
    calls.clear();
    clock.now += 60_000;
    for (const digest of digests) expect(cache.lookup(WS, digest)).not.toBeInstanceOf(Promise);
    await vi.waitFor(() => expect(cache.stats.refreshes).toBe(digests.length));
    expect(Object.fromEntries(calls)).toEqual({ findKeysByIds: Math.ceil(digests.length / MAX_REFRESH_BATCH) });
  });

  // A key's time is at least (1 - spread) of the TTL, so with a spread it is refreshed at most 1 / (1 - spread) times per TTL.
  it.each([
    [1000, 0, 10, 10],
    [10_000, 0, 10_000 / MAX_REFRESH_BATCH, 10_000 / MAX_REFRESH_BATCH],
    [10_000, CACHE_TTL_SPREAD, 10_000 / MAX_REFRESH_BATCH, Math.ceil(10_000 / (1 - CACHE_TTL_SPREAD) / MAX_REFRESH_BATCH)],
  ])("in steady use, %i keys each used once a second, with a spread of %d, are refreshed with %i to %i reads per TTL", async (count, spread, fewest, most) => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "Date"] });
    try {
      const { store, calls } = countingStore(new MemoryStore());
      const keyspace = keyspaceRecord();
      await store.keyspaces.insert(keyspace);
      const digests: string[] = [];
      for (let i = 0; i < count; i++) {
        const record = keyRecord({ keyspaceId: keyspace.id });
        await store.insertKey(record);
        digests.push(record.hash);
      }
      const cache = new KeyCache(
        store,
        cacheOptions({
          known: { mayExist: () => true },
          maxEntries: count,
          maxBytes: 1024 * 1024 * 1024,
          now: Date.now,
          ttlMs: CACHE_TTL_MS,
          ttlSpread: spread,
          refreshBatchMs: CACHE_REFRESH_BATCH_MS,
        }),
      );
      // Each key was first read at its own moment of the first TTL, and is used every second from then on.
      const useEverySecondFor = async (ms: number, from: number) => {
        for (let second = 0; second < ms / 1000; second++) {
          for (let i = 0; i < count; i++) {
            if (from + second * 1000 + (i * 1000) / count < (i * CACHE_TTL_MS) / count) continue;
            const found = cache.lookup(WS, digests[i]!);
            if (found instanceof Promise) await found;
          }
          await vi.advanceTimersByTimeAsync(1000);
        }
      };
      await useEverySecondFor(CACHE_TTL_MS, 0);
      calls.clear();
      await useEverySecondFor(CACHE_TTL_MS, CACHE_TTL_MS);
      expect(calls.get("findKeyByHash") ?? 0).toBe(0);
      expect(calls.get("findKeysByIds")).toBeGreaterThanOrEqual(fewest - 1);
      expect(calls.get("findKeysByIds")).toBeLessThanOrEqual(most + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a cached key deleted for good, or rerolled away from the digest, is gone after its refresh; a digest that became another key's finds that key", async () => {
    const { cache, keys, clock, store, calls } = await world();
    const [a, b] = keys;
    for (const key of keys) await cache.lookup(WS, key.digest);
    await store.deleteKey(a!.record.id);
    const heir = keyRecord({ keyspaceId: a!.record.keyspaceId, hash: a!.digest });
    await store.insertKey(heir);
    const next = issueSecret("pay", 16, 4);
    await store.replaceSecret(
      b!.record.id,
      b!.digest,
      { hash: next.digest, start: "pay_n" },
      { hash: "1".repeat(64), start: "pay_1", expiresAt: new Date(clock.now) },
      new Date(clock.now),
    );
    calls.clear();
    clock.now += 60_000;
    for (const key of keys) expect(cache.lookup(WS, key.digest)).not.toBeInstanceOf(Promise);
    await vi.waitFor(() => expect(cache.stats.refreshes).toBe(2));
    await vi.waitFor(() => expect((cache.peek(WS, a!.digest) as VerifiableKey | undefined)?.record.id).toBe(heir.id));
    await vi.waitFor(() => expect(cache.peek(WS, b!.digest)).toBeNull());
    expect(Object.fromEntries(calls)).toEqual({ findKeysByIds: 1, findKeyByHash: 2 });
  });

  it("a change arriving while a refresh waits for its batch is read by it: the refreshed key shows the change", async () => {
    const { cache, keys, clock, store } = await world();
    const [a] = keys;
    await cache.lookup(WS, a!.digest);
    clock.now += 60_000;
    expect((cache.lookup(WS, a!.digest) as VerifiableKey).record.revokedAt).toBeNull();
    const revoked = (await store.updateKey(a!.record.id, { revokedAt: new Date(clock.now) }, {}))!;
    cache.evict(keyChanged(revoked));
    await vi.waitFor(() => expect(cache.stats.refreshes).toBe(1));
    await vi.waitFor(() => expect((cache.peek(WS, a!.digest) as VerifiableKey | undefined)?.record.revokedAt).not.toBeNull());
  });

  it("a refresh that races a change keeps the change: what the refresh read is dropped", async () => {
    const { cache, keys, clock, store } = await world();
    const [a] = keys;
    await cache.lookup(WS, a!.digest);
    const [read, gate] = [deferred(), deferred()];
    const findKeysByIds = store.findKeysByIds.bind(store);
    store.findKeysByIds = async (workspaceId, ids) => {
      const before = await findKeysByIds(workspaceId, ids);
      read.resolve();
      await gate.promise;
      return before;
    };
    clock.now += 60_000;
    expect((cache.lookup(WS, a!.digest) as VerifiableKey).record.revokedAt).toBeNull();
    await read.promise;
    const revoked = (await store.updateKey(a!.record.id, { revokedAt: new Date(clock.now) }, {}))!;
    cache.evict(keyChanged(revoked));
    gate.resolve();
    store.findKeysByIds = findKeysByIds;
    await vi.waitFor(() => expect(cache.stats.refreshes).toBe(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.peek(WS, a!.digest)).toBeUndefined();
    expect((await cache.lookup(WS, a!.digest))!.record.revokedAt).not.toBeNull();
  });

  it("drops a key unused for longer than its time and the stale allowance, and reads it while the caller waits", async () => {
    const { cache, keys, clock, reads } = await world();
    await cache.lookup(WS, keys[0]!.digest);
    clock.now += 60_000 + 600_000;
    const lookup = cache.lookup(WS, keys[0]!.digest);
    expect(lookup).toBeInstanceOf(Promise);
    expect((await lookup)?.record.id).toBe(keys[0]!.record.id);
    expect(reads()).toBe(2);
  });

  it("reads a keyspace once for all its keys, and again after the change feed names it", async () => {
    const { cache, keys, keyspace, calls } = await world();
    const keyspaceReads = () => calls.get("keyspaces.find") ?? 0;
    for (const key of keys) await cache.lookup(WS, key.digest);
    expect(keyspaceReads()).toBe(1);
    cache.evict({ workspaceId: WS, keyspaceId: keyspace.id });
    await cache.lookup(WS, keys[0]!.digest);
    expect(keyspaceReads()).toBe(2);
  });

  it("a key whose keyspace is gone is unknown", async () => {
    const { cache, keys, store, keyspace } = await world();
    await store.keyspaces.delete({ id: keyspace.id });
    expect(await cache.lookup(WS, keys[0]!.digest)).toBeNull();
  });
});

describe("Verifier", () => {
  it("answers a cached key without a promise, refuses malformed (once the known-digest filter is built) and overlong secrets without a read, and counts verdicts", async () => {
    const { store, keys, reads } = await world();
    const verification = createVerification(store, Date.now, createLogger("silent"), DEFAULT_VERIFICATION_OPTIONS);
    const request = (secret: string) => verifyRequest(secret, keys[0]!.record.workspaceId);
    expect((await verification.verifier.verify(request(keys[0]!.secret))).verdict).toBe("valid");
    const cached = verification.verifier.verify(request(keys[0]!.secret));
    expect(cached).not.toBeInstanceOf(Promise);
    await verification.known.rebuild();
    const before = reads();
    expect(verification.verifier.verify(request("pay_malformed"))).toMatchObject({ verdict: "not_found" });
    expect(verification.verifier.verify(request("x".repeat(100_000)))).toMatchObject({ verdict: "not_found" });
    expect(reads()).toBe(before);
    const text = await verification.metrics.render();
    expect(text).toContain('latchkey_verifications_total{code="valid"} 2');
    expect(text).toContain('latchkey_verifications_total{code="not_found"} 2');
  });
});
