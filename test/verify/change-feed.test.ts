import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { KeyChange, KeyChangeTarget, Store } from "../../src/store/store.js";
import { KeyChangeFeed } from "../../src/verify/change-feed.js";

const GAP_WAIT_MS = 5000;

function feed(store: Store, clock: { now: number }, skewMs = 0) {
  const seen: KeyChangeTarget[] = [];
  const applied: Date[] = [];
  const instance = new KeyChangeFeed(store, [{ evict: ({ ...change }) => seen.push(change) }], {
    pollMs: 1000,
    gapWaitMs: GAP_WAIT_MS,
    retentionMs: 60_000,
    now: () => clock.now + skewMs,
    log: createLogger("silent"),
    onApplied: (at) => applied.push(at),
  });
  return { instance, seen, applied };
}

const targets = (seen: KeyChangeTarget[]) => seen.map(({ keyId, keyspaceId, rootKeyHash }) => keyId ?? keyspaceId ?? rootKeyHash);

describe("KeyChangeFeed", () => {
  it("evicts at once on the publishing instance, and on another at its next poll, once each", async () => {
    const store = new MemoryStore();
    const clock = { now: Date.UTC(2026, 0, 1) };
    const here = feed(store, clock);
    const there = feed(store, clock);
    await here.instance.start();
    await there.instance.start();
    await here.instance.publish({ keyId: "key_a", hash: "aa" });
    expect(here.seen).toEqual([{ keyId: "key_a", hash: "aa" }]);
    await there.instance.poll();
    await here.instance.poll();
    expect(targets(there.seen)).toEqual(["key_a"]);
    expect(here.seen).toHaveLength(1);
    expect(there.applied).toHaveLength(1);
    await there.instance.poll();
    expect(there.seen).toHaveLength(1);
    await Promise.all([here.instance.stop(), there.instance.stop()]);
  });

  it.each([5000, -5000])("applies the changes of an instance whose clock is off by %i ms, at the next poll", async (skewMs) => {
    const store = new MemoryStore();
    const clock = { now: Date.UTC(2026, 0, 1) };
    const skewed = feed(store, clock, skewMs);
    const steady = feed(store, clock);
    await skewed.instance.start();
    await steady.instance.start();
    for (let round = 0; round < 3; round++) {
      await skewed.instance.publish({ keyId: `key_from_skewed_${round}` });
      await steady.instance.publish({ keyId: `key_from_steady_${round}` });
      clock.now += 1000;
      await Promise.all([skewed.instance.poll(), steady.instance.poll()]);
    }
    expect(targets(steady.seen).filter((id) => id!.includes("skewed"))).toEqual(["key_from_skewed_0", "key_from_skewed_1", "key_from_skewed_2"]);
    expect(targets(skewed.seen).filter((id) => id!.includes("steady"))).toEqual(["key_from_steady_0", "key_from_steady_1", "key_from_steady_2"]);
    await Promise.all([skewed.instance.stop(), steady.instance.stop()]);
  });

  it("applies a change numbered below one already read once it is written, and gives up on one never written", async () => {
    // The log's numbering and writes are made by hand: a number counted is not yet a change written.
    const inner = { changes: [] as KeyChange[], lastSeq: 0 };
    const store = Object.assign(new MemoryStore(), {
      changesAfter: async (after: number, limit: number) =>
        inner.changes
          .filter((change) => change.seq > after)
          .slice(0, limit)
          .map((change) => structuredClone(change)),
      lastChangeSeq: async () => inner.lastSeq,
    });
    const clock = { now: Date.UTC(2026, 0, 1) };
    const there = feed(store, clock);
    await there.instance.start();
    // Numbers 1 and 2 are counted; 2 is written first, 1 later; 3 is counted by a writer that dies.
    const slow = { keyId: "key_slow" };
    inner.lastSeq = 3;
    inner.changes.push({ seq: 2, at: new Date(clock.now), keyId: "key_fast" });
    await there.instance.poll();
    expect(targets(there.seen)).toEqual(["key_fast"]);
    inner.changes.push({ seq: 4, at: new Date(clock.now), keyId: "key_after" });
    inner.changes.splice(0, 0, { seq: 1, at: new Date(clock.now), ...slow });
    clock.now += 1000;
    await there.instance.poll();
    expect(targets(there.seen)).toEqual(["key_fast", "key_slow", "key_after"]);
    clock.now += GAP_WAIT_MS;
    await there.instance.poll();
    inner.lastSeq = 5;
    inner.changes.push({ seq: 5, at: new Date(clock.now), keyId: "key_last" });
    await there.instance.poll();
    await there.instance.poll();
    expect(targets(there.seen)).toEqual(["key_fast", "key_slow", "key_after", "key_last"]);
    await there.instance.stop();
  });

  it("keeps going when the store fails, and delivers what it missed on the next poll", async () => {
    const inner = new MemoryStore();
    let down = true;
    const store = new Proxy(inner, {
      get: (target, property, receiver) =>
        property === "changesAfter" && down ? () => Promise.reject(new Error("down")) : Reflect.get(target, property, receiver),
    });
    const clock = { now: Date.UTC(2026, 0, 1) };
    const there = feed(store, clock);
    await there.instance.start();
    await inner.appendChange({ at: new Date(clock.now), keyspaceId: "ks_1" });
    await there.instance.poll();
    expect(there.seen).toEqual([]);
    down = false;
    await there.instance.poll();
    expect(targets(there.seen)).toEqual(["ks_1"]);
    await there.instance.stop();
  });

  it("catches up with one poll that starts after the call, shared by every caller waiting", async () => {
    const inner = new MemoryStore();
    let reads = 0;
    const store = new Proxy(inner, {
      get: (target, property, receiver) =>
        property === "changesAfter" ? (...args: [number, number]) => (reads++, inner.changesAfter(...args)) : Reflect.get(target, property, receiver),
    });
    const clock = { now: Date.UTC(2026, 0, 1) };
    const there = feed(store, clock);
    await there.instance.start();
    const running = there.instance.poll();
    await inner.appendChange({ at: new Date(clock.now), keyId: "key_just_made" });
    reads = 0;
    await Promise.all([running, ...Array.from({ length: 50 }, () => there.instance.catchUp())]);
    expect(targets(there.seen)).toEqual(["key_just_made"]);
    expect(reads).toBe(1);
    await there.instance.stop();
  });

  it("starts from the store's latest change: what came before cannot be in its empty caches", async () => {
    const store = new MemoryStore();
    await store.appendChange({ at: new Date(), keyId: "key_old" });
    const clock = { now: Date.UTC(2026, 0, 1) };
    const there = feed(store, clock);
    await there.instance.start();
    await store.appendChange({ at: new Date(), keyId: "key_new" });
    await there.instance.poll();
    expect(targets(there.seen)).toEqual(["key_new"]);
    await there.instance.stop();
  });
});
