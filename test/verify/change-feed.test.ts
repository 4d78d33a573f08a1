import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { KeyChangeTarget, Store } from "../../src/store/store.js";
import { KeyChangeFeed } from "../../src/verify/change-feed.js";

function feed(store: Store, clock: { now: number }) {
  const seen: KeyChangeTarget[] = [];
  const applied: Date[] = [];
  const instance = new KeyChangeFeed(store, [{ evict: (change) => seen.push(change) }], {
    pollMs: 1000,
    overlapMs: 2000,
    retentionMs: 60_000,
    now: () => clock.now,
    log: createLogger("silent"),
    onApplied: (at) => applied.push(at),
  });
  return { instance, seen, applied };
}

describe("KeyChangeFeed", () => {
  it("evicts at once on the publishing instance, and on another at its next poll, once each", async () => {
    const store = new MemoryStore();
    const clock = { now: Date.UTC(2026, 0, 1) };
    const here = feed(store, clock);
    const there = feed(store, clock);
    await here.instance.publish({ keyId: "key_a", hash: "aa" });
    expect(here.seen).toEqual([{ keyId: "key_a", hash: "aa" }]);
    clock.now += 100;
    await there.instance.poll();
    await here.instance.poll();
    expect(there.seen).toMatchObject([{ keyId: "key_a", hash: "aa" }]);
    expect(here.seen).toHaveLength(1);
    expect(there.applied).toHaveLength(1);
    clock.now += 500;
    await there.instance.poll();
    expect(there.seen).toHaveLength(1);
  });

  it("re-reads an overlap, so a change stamped just before the last poll is still applied, and only once", async () => {
    const store = new MemoryStore();
    const clock = { now: Date.UTC(2026, 0, 1) };
    const there = feed(store, clock);
    clock.now += 1000;
    await there.instance.poll();
    await store.appendChange({ id: "late", at: new Date(clock.now - 500), rootKeyHash: "rk" });
    clock.now += 100;
    await there.instance.poll();
    await there.instance.poll();
    expect(there.seen).toMatchObject([{ rootKeyHash: "rk" }]);
  });

  it("keeps going when the store fails, and delivers what it missed on the next poll", async () => {
    const inner = new MemoryStore();
    let down = true;
    const store = new Proxy(inner, {
      get: (target, property, receiver) =>
        property === "changesSince" && down ? () => Promise.reject(new Error("down")) : Reflect.get(target, property, receiver),
    });
    const clock = { now: Date.UTC(2026, 0, 1) };
    const there = feed(store, clock);
    await inner.appendChange({ id: "c1", at: new Date(clock.now), keyspaceId: "ks_1" });
    await there.instance.poll();
    expect(there.seen).toEqual([]);
    down = false;
    clock.now += 3000;
    await there.instance.poll();
    expect(there.seen).toMatchObject([{ keyspaceId: "ks_1" }]);
  });
});
