import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { creditBalance, type CreditsUpdate } from "../../src/domain/credits.js";
import type { KeyRecord } from "../../src/domain/key.js";
import { issueSecret } from "../../src/domain/secret.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { MongoStore } from "../../src/store/mongodb.js";
import type { Store } from "../../src/store/store.js";
import { type CreditShareOptions, CreditShares, SHARES_RETURNED_AT_ONCE } from "../../src/verify/credit-shares.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS } from "../../src/verify/index.js";
import { countingStore } from "../support/counting-store.js";
import { keyRecord, keyspaceRecord, verifyRequest } from "../support/fixtures.js";

const LEASE_MS = 300;
const started: CreditShares[] = [];
afterEach(() => {
  for (const shares of started.splice(0)) void shares.stop();
});

/** What every instance learns from the change feed: here, a turn of the event loop after it is published. */
const releaseEverywhere = (keyId: string) => void setTimeout(() => started.forEach((shares) => shares.evict({ releaseCreditsOf: keyId })));
const options = (holder: string, overrides: Partial<CreditShareOptions> = {}): CreditShareOptions => ({
  holder,
  now: Date.now,
  log: createLogger("silent"),
  leaseMs: LEASE_MS,
  graceMs: 100,
  idleMs: 200,
  maxShares: 1000,
  requestRelease: releaseEverywhere,
  releaseRequestMs: 10,
  releaseHoldMs: 50,
  feedCurrentSince: () => undefined,
  catchUpFeed: async () => {},
  recallWaitMs: 20,
  ...overrides,
});

/** An instance's shares, as the verifier holds them: on its own copy of the key, as its cache would. */
function instance(store: Store, holder: string, overrides: Partial<CreditShareOptions> = {}) {
  const shares = new CreditShares(store, options(holder, overrides));
  shares.start();
  started.push(shares);
  return shares;
}

async function keyWith(store: Store, remaining: number) {
  const key = keyRecord({ credits: { remaining, refill: null } });
  await store.insertKey(key);
  return key;
}

/** Spends one credit on the instance's cached copy of the key; true when it was spent. */
async function spendOne(shares: CreditShares, cached: KeyRecord) {
  const result = await shares.spend(cached, 1);
  return result?.spent ?? false;
}

const balance = async (store: Store, id: string) => creditBalance((await store.getKey(id))!.credits!);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("CreditShares", () => {
  it("spends a large balance from memory: a few store writes for thousands of verifications", async () => {
    const { store, calls } = countingStore();
    const key = await keyWith(store, 1_000_000);
    const shares = instance(store, "h1");
    const cached = structuredClone(key);
    for (let i = 0; i < 5000; i++) expect(await spendOne(shares, cached)).toBe(true);
    const writes = (calls.get("takeCreditShare") ?? 0) + (calls.get("claimCredits") ?? 0) + (calls.get("spendCredits") ?? 0);
    expect(writes).toBeLessThan(50);
    await shares.stop();
    expect(await balance(store, key.id)).toBe(1_000_000 - 5000);
    expect((await store.getKey(key.id))!.credits!.shares).toEqual({});
  });

  it("sells exactly the balance to three instances spending at once, and nothing more", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 3000);
    const instances = ["h1", "h2", "h3"].map((holder) => ({ shares: instance(store, holder), cached: structuredClone(key), valid: 0 }));
    await Promise.all(
      instances.map(async (each) => {
        for (let i = 0; i < 2000; i++) if (await spendOne(each.shares, each.cached)) each.valid++;
      }),
    );
    await Promise.all(instances.map((each) => each.shares.stop()));
    const valid = instances.reduce((sum, each) => sum + each.valid, 0);
    expect(valid + (await balance(store, key.id))).toBe(3000);
    expect(valid).toBe(3000);
  });

  it("answers from memory while the share covers the cost, exactly per call near zero", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 300);
    const shares = instance(store, "h1");
    expect(shares.spend(structuredClone(key), 1)).toBeInstanceOf(Promise);
    const small = await keyWith(store, 100);
    expect(await shares.spend(structuredClone(small), 1)).toEqual({ spent: true, remaining: 99, unshared: 99 });
    expect(shares.stats.shares).toBe(1);
    expect(shares.spend(structuredClone(key), 1)).toEqual({ spent: true, remaining: 298 });
  });

  it("goes on spending claimed units past the lease while its change feed is current, and stops at the lease once the feed is behind", async () => {
    const { store, calls } = countingStore();
    const key = await keyWith(store, 1_000_000);
    let feedReadAt: number | undefined;
    const shares = instance(store, "h1", { idleMs: 60_000, recallWaitMs: 200, feedCurrentSince: () => feedReadAt });
    const cached = structuredClone(key);
    expect(await spendOne(shares, cached)).toBe(true);
    await sleep(LEASE_MS + 50);
    feedReadAt = Date.now();
    const before = [...calls.values()].reduce((sum, count) => sum + count, 0);
    expect(shares.spend(cached, 1)).toMatchObject({ spent: true });
    expect([...calls.values()].reduce((sum, count) => sum + count, 0)).toBe(before);
    feedReadAt = Date.now() - 1000;
    expect(shares.spend(cached, 1)).toBeInstanceOf(Promise);
  });

  it("past its lease with the feed behind, waits for one feed read shared by every key instead of a claim per key", async () => {
    const { store, calls } = countingStore();
    const keys = await Promise.all(Array.from({ length: 20 }, () => keyWith(store, 1_000_000)));
    let feedReadAt: number | undefined;
    let feedReads = 0;
    let reading: Promise<void> | undefined;
    const catchUpFeed = () =>
      (reading ??= sleep(5).then(() => {
        feedReads++;
        feedReadAt = Date.now();
        reading = undefined;
      }));
    const shares = instance(store, "h1", { idleMs: 60_000, recallWaitMs: 200, feedCurrentSince: () => feedReadAt, catchUpFeed });
    const cached = keys.map((key) => structuredClone(key));
    for (const copy of cached) expect(await spendOne(shares, copy)).toBe(true);
    await sleep(LEASE_MS + 250);
    calls.clear();
    expect(await Promise.all(cached.map((copy) => spendOne(shares, copy)))).toEqual(cached.map(() => true));
    expect(Object.fromEntries(calls)).toEqual({});
    expect(feedReads).toBe(1);
  });

  it("a SET waits until a holder past its lease whose feed is current has given its share back", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 1_000_000);
    const holder = instance(store, "h1", { idleMs: 60_000, feedCurrentSince: () => Date.now() });
    const setter = instance(store, "h2", { recallWaitMs: 100 });
    expect(await spendOne(holder, structuredClone(key))).toBe(true);
    await sleep(LEASE_MS + 150);
    expect(holder.stats.shares).toBe(1);
    await setter.recall(key.id);
    expect(holder.stats.shares).toBe(0);
    expect((await store.getKey(key.id))!.credits!.shares).toEqual({});
  });

  it("holds shares of at most maxShares keys; the others spend per call", async () => {
    const store = new MemoryStore();
    const shares = new CreditShares(store, options("h1", { maxShares: 1 }));
    const [first, second] = [await keyWith(store, 10_000), await keyWith(store, 10_000)];
    await spendOne(shares, structuredClone(first));
    expect(await shares.spend(structuredClone(second), 1)).toEqual({ spent: true, remaining: 9999, unshared: 9999 });
    expect(shares.stats.shares).toBe(1);
    await shares.stop();
  });

  it(`at shutdown gives N shares back in ceil(N / ${SHARES_RETURNED_AT_ONCE}) groups, one after another, and every unit comes back`, async () => {
    const store = new MemoryStore();
    const returnCreditShare = store.returnCreditShare.bind(store);
    const groups: number[] = [];
    let inFlight = 0;
    store.returnCreditShare = async (id, share, unspent) => {
      if (inFlight++ === 0) groups.push(0);
      groups[groups.length - 1]!++;
      await sleep(5);
      inFlight--;
      return returnCreditShare(id, share, unspent);
    };
    const keys = await Promise.all(Array.from({ length: 2 * SHARES_RETURNED_AT_ONCE + 1 }, () => keyWith(store, 10_000)));
    const shares = new CreditShares(store, options("h1"));
    for (const key of keys) expect(await spendOne(shares, structuredClone(key))).toBe(true);
    expect(shares.stats.shares).toBe(keys.length);
    await shares.stop();
    expect(groups).toEqual([SHARES_RETURNED_AT_ONCE, SHARES_RETURNED_AT_ONCE, 1]);
    for (const key of keys) expect([await balance(store, key.id), (await store.getKey(key.id))!.credits!.shares]).toEqual([9999, {}]);
  });

  it("loses at most the claimed units of an instance that dies; its unclaimed share returns once it expires", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 10_000);
    const dying = new CreditShares(store, options("dying"));
    let valid = 0;
    for (let i = 0; i < 100; i++) if (await spendOne(dying, structuredClone(key))) valid++;
    const held = Object.values((await store.getKey(key.id))!.credits!.shares!)[0]!.unclaimed;
    expect(held).toBeGreaterThan(400);
    const claimedAndUnspent = 10_000 - valid - (await balance(store, key.id));
    expect(claimedAndUnspent).toBeLessThanOrEqual(Math.floor((1.5 * 10_000) / 16 / 8));

    const survivor = instance(store, "survivor");
    const cached = structuredClone(key);
    while (await spendOne(survivor, cached)) valid++;
    expect(valid).toBe(10_000 - held - claimedAndUnspent);
    await sleep(LEASE_MS + 150);
    while (await spendOne(survivor, cached)) valid++;
    expect(valid).toBe(10_000 - claimedAndUnspent);
  });

  it("gives a changed key's share back at once, and an idle one after a while", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 10_000);
    const shares = instance(store, "h1");
    await spendOne(shares, structuredClone(key));
    expect(shares.stats.shares).toBe(1);
    shares.evict({ keyId: key.id });
    expect(shares.stats.shares).toBe(0);
    await sleep(20);
    expect(await balance(store, key.id)).toBe(9999);

    await spendOne(shares, structuredClone(key));
    await sleep(400);
    expect(shares.stats.shares).toBe(0);
    expect(await balance(store, key.id)).toBe(9998);
  });

  it("stops spending a share that an update voided, beyond what it had claimed", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 10_000);
    const shares = instance(store, "h1");
    const cached = structuredClone(key);
    await spendOne(shares, cached);
    await store.updateCredits(key.id, { operation: "set", value: 10, refill: undefined });
    let valid = 0;
    while (await spendOne(shares, cached)) valid++;
    expect(valid).toBeLessThanOrEqual(10 + Math.floor((1.5 * 10_000) / 16 / 8));
    expect(await balance(store, key.id)).toBe(0);
  });
});

/** The store answering a turn of the event loop later, as a database does: calls of several instances interleave. */
const withLatency = (inner: Store): Store =>
  new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return value.apply(target, args);
      };
    },
  });

describe.each([
  ["memory", async (): Promise<Store> => withLatency(new MemoryStore())],
  ["mongodb", async (): Promise<Store> => MongoStore.connect(inject("mongoUri"), `latchkey_shares_${randomUUID()}`)],
])("CreditShares on the %s store", (_name, openStore) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(async () => {
    await store.close();
  });

  it("keeps every credit while INCREMENT and DECREMENT race two instances spending, each told of the change as the feed tells it", async () => {
    const key = await keyWith(store, 1000);
    const instances = ["a", "b"].map((holder) => ({ shares: instance(store, holder), cached: structuredClone(key), valid: 0 }));
    const changed = async (update: CreditsUpdate) => {
      await store.updateCredits(key.id, update);
      for (const each of instances) each.shares.evict({ keyId: key.id });
    };
    let updates: Promise<void> | undefined;
    await Promise.all(
      instances.map(async (each) => {
        for (let i = 0; i < 2000; i++) {
          if (await spendOne(each.shares, each.cached)) each.valid++;
          if (each.valid === 200 && each === instances[0]) {
            updates ??= changed({ operation: "increment", value: 500, refill: undefined }).then(() =>
              changed({ operation: "decrement", value: 200, refill: undefined }),
            );
          }
        }
      }),
    );
    await updates;
    await Promise.all(instances.map((each) => each.shares.stop()));
    const valid = instances.reduce((sum, each) => sum + each.valid, 0);
    expect(valid + (await balance(store, key.id))).toBe(1000 + 500 - 200);
  });
});

describe("CreditShares handing units over", () => {
  it("gives an instance that runs short the units another holds idle, once the holders hear of its request", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 10_000);
    // Leases far longer than the wait below: the units come back on request, not because the idle share expired.
    const idle = instance(store, "idle", { leaseMs: 60_000 });
    const busy = instance(store, "busy", { leaseMs: 60_000 });
    expect(await spendOne(idle, structuredClone(key))).toBe(true);
    const cached = structuredClone(key);
    let valid = 1;
    while (await spendOne(busy, cached)) valid++;
    expect(await balance(store, key.id)).toBeGreaterThan(0);
    // The request reaches the holders a turn of the event loop later, as a change-feed poll does.
    const deadline = Date.now() + 1000;
    while (!(await spendOne(busy, cached))) {
      expect(Date.now(), "the idle share came back").toBeLessThan(deadline);
      await sleep(5);
    }
    valid++;
    while (await spendOne(busy, cached)) valid++;
    expect(valid).toBe(10_000);
  });

  it("brings every share back before a SET, so nothing claimed before it is spent after it", async () => {
    const store = new MemoryStore();
    const key = await keyWith(store, 100_000);
    const instances = ["h1", "h2", "h3"].map((holder) => ({ shares: instance(store, holder), cached: structuredClone(key) }));
    let setDone = false;
    let startedAfterSet = 0;
    let endedAfterSet = 0;
    const spending = instances.map(async (each) => {
      for (;;) {
        const afterSet = setDone;
        const spent = await spendOne(each.shares, each.cached);
        if (spent && afterSet) startedAfterSet++;
        if (spent && setDone) endedAfterSet++;
        if (!spent && afterSet) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await sleep(50);
    await instances[0]!.shares.recall(key.id);
    await store.updateCredits(key.id, { operation: "set", value: 500, refill: undefined });
    setDone = true;
    // The holders hear of the SET itself a while later, from the change feed.
    setTimeout(() => instances.forEach((each) => each.shares.evict({ keyId: key.id })), 50);
    await Promise.all(spending);
    await Promise.all(instances.map((each) => each.shares.stop()));
    const remaining = await balance(store, key.id);
    expect(startedAfterSet + remaining).toBeLessThanOrEqual(500);
    expect(endedAfterSet + remaining).toBeGreaterThanOrEqual(500);
  });
});

describe("CreditShares as createVerification wires them", () => {
  it("a refill answered after another verification here refilled and took a share leaves that share held, and every credit counted", async () => {
    const store = new MemoryStore();
    const keyspace = keyspaceRecord();
    await store.keyspaces.insert(keyspace);
    const issued = issueSecret("pay", 16, 4);
    const amount = 1000;
    const refill = { period: "interval" as const, intervalMs: 3_600_000, dayOfMonth: 0, amount, lastRefillAt: null };
    const key = keyRecord({ keyspaceId: keyspace.id, hash: issued.digest, credits: { remaining: 0, refill } });
    await store.insertKey(key);
    // The second refill of the period reaches the store only once the first one's verification has taken a share.
    const refillCredits = store.refillCredits.bind(store);
    let refills = 0;
    store.refillCredits = async (id, periodStart, refillAmount) => {
      if (refills++ > 0) while (Object.keys((await store.getKey(id))!.credits!.shares ?? {}).length === 0) await sleep(5);
      return refillCredits(id, periodStart, refillAmount);
    };
    const verification = createVerification(store, Date.now, createLogger("silent"), DEFAULT_VERIFICATION_OPTIONS);
    await verification.start();
    const answers = await Promise.all([1, 2].map(() => verification.verifier.verify(verifyRequest(issued.secret))));
    await verification.stop();
    expect(refills).toBe(2);
    expect(answers.map((answer) => answer.verdict)).toEqual(["valid", "valid"]);
    const credits = (await store.getKey(key.id))!.credits!;
    expect(credits.shares ?? {}).toEqual({});
    expect(credits.remaining).toBe(amount - 2);
  });

  it("past the lease on a store whose reads take longer than four polls, spends after one feed read, with no claim per key", async () => {
    const { store, calls } = countingStore();
    const keyspace = keyspaceRecord();
    await store.keyspaces.insert(keyspace);
    const keys = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const issued = issueSecret("pay", 16, 4);
        await store.insertKey(keyRecord({ keyspaceId: keyspace.id, hash: issued.digest, credits: { remaining: 1_000_000, refill: null } }));
        return issued.secret;
      }),
    );
    // Slower than four polls, well within the store timeout: a slow store or a busy machine.
    const changesAfter = store.changesAfter.bind(store);
    store.changesAfter = async (after, limit) => {
      await sleep(1200);
      return changesAfter(after, limit);
    };
    const verification = createVerification(store, Date.now, createLogger("silent"), {
      ...DEFAULT_VERIFICATION_OPTIONS,
      changePollMs: 200,
      creditShareLeaseMs: 300,
    });
    await verification.start();
    try {
      const verify = (secret: string) => verification.verifier.verify(verifyRequest(secret));
      for (const secret of keys) expect((await verify(secret)).verdict).toBe("valid");
      await sleep(1000);
      calls.clear();
      const verdicts = await Promise.all(keys.map(async (secret) => (await verify(secret)).verdict));
      expect(verdicts).toEqual(keys.map(() => "valid"));
      expect(calls.get("claimCredits") ?? 0).toBe(0);
    } finally {
      await verification.stop();
    }
  });
});
