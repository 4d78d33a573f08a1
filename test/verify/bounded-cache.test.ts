import { describe, expect, it } from "vitest";
import { BoundedCache } from "../../src/verify/bounded-cache.js";

function cache(maxEntries = 3, ttlMs = 1000) {
  const clock = { now: 0 };
  return { clock, cache: new BoundedCache<string>({ maxEntries, ttlMs, now: () => clock.now }) };
}

/** A load the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

describe("BoundedCache", () => {
  it("forgets entries when their time is up, and honours a shorter time per entry", () => {
    const { clock, cache: c } = cache();
    c.set("a", "A");
    c.set("b", "B", 100);
    clock.now = 100;
    expect(c.get("b")).toBeUndefined();
    expect(c.get("a")).toBe("A");
    clock.now = 1000;
    expect(c.get("a")).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("spreads the times of entries set together over the last share of their time, never past it", () => {
    const clock = { now: 0 };
    const draws = [0, 0.5, 0.999];
    const c = new BoundedCache<string>({ maxEntries: 10, ttlMs: 1000, ttlSpread: 0.25, random: () => draws.shift()!, now: () => clock.now });
    for (const key of ["full", "most", "least"]) c.set(key, key);
    const alive = () => ["full", "most", "least"].filter((key) => c.get(key) !== undefined);
    clock.now = 750;
    expect(alive()).toEqual(["full", "most", "least"]);
    clock.now = 751;
    expect(alive()).toEqual(["full", "most"]);
    clock.now = 875;
    expect(alive()).toEqual(["full"]);
    clock.now = 999;
    expect(alive()).toEqual(["full"]);
    clock.now = 1000;
    expect(alive()).toEqual([]);
  });

  it("with Math.random, entries set at one moment come due at many moments within the spread", () => {
    const clock = { now: 0 };
    const c = new BoundedCache<string>({ maxEntries: 1000, ttlMs: 60_000, ttlSpread: 0.25, now: () => clock.now });
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, "v");
    const dueBy = (ms: number) => {
      clock.now = ms;
      return Array.from({ length: 1000 }, (_, i) => c.get(`k${i}`)).filter((value) => value === undefined).length;
    };
    const due = [45_000, 48_750, 52_500, 56_250, 60_000].map(dueBy);
    expect(due[0]).toBe(0);
    for (let quarter = 1; quarter < 4; quarter++) {
      expect(due[quarter]! - due[quarter - 1]!).toBeGreaterThan(150);
      expect(due[quarter]! - due[quarter - 1]!).toBeLessThan(350);
    }
    expect(due[4]).toBe(1000);
  });

  it("evicts the oldest unused entry beyond the cap, sparing used ones once", () => {
    const { cache: c } = cache(3);
    for (const key of ["a", "b", "c"]) c.set(key, key.toUpperCase());
    c.get("a");
    c.set("d", "D");
    expect([c.get("a"), c.get("b"), c.get("c"), c.get("d")]).toEqual(["A", undefined, "C", "D"]);
    expect(c.size).toBe(3);
  });

  it("lets a partition fill the room there is, and makes room from the partition furthest beyond its share", () => {
    const c = new BoundedCache<string>({
      maxEntries: 10,
      maxBytes: 100,
      sizeOf: (value) => value.length,
      partitionOf: (key) => key.split(":")[0]!,
      partitionShare: 0.3,
      ttlMs: 1000,
      now: () => 0,
    });
    for (let i = 0; i < 10; i++) c.set(`a:${i}`, "x");
    expect(c.sizeOf("a")).toBe(10);
    for (let i = 0; i < 3; i++) c.set(`b:${i}`, "x");
    expect([c.sizeOf("a"), c.sizeOf("b")]).toEqual([7, 3]);
    for (let i = 3; i < 50; i++) c.set(`b:${i}`, "x");
    expect([c.sizeOf("a"), c.sizeOf("b")]).toEqual([5, 5]);
    expect(["a:5", "a:6", "a:7", "a:8", "a:9"].map((key) => c.get(key))).toEqual(["x", "x", "x", "x", "x"]);
    c.deleteInPartition("b", (_, key) => key !== "b:49");
    for (let i = 0; i < 20; i++) c.set(`c:${i}`, "x");
    expect([c.sizeOf("a"), c.sizeOf("b"), c.sizeOf("c")]).toEqual([5, 1, 4]);
    c.set("d:1", "x".repeat(101));
    expect(c.get("d:1")).toBeUndefined();
    expect([c.sizeOf("a"), c.sizeOf("b"), c.sizeOf("c")]).toEqual([5, 1, 4]);
  });

  it("never grows past its cap, however many keys pass through", () => {
    const { cache: c } = cache(100);
    for (let i = 0; i < 10_000; i++) {
      c.set(`k${i}`, "v");
      if (i % 3 === 0) c.get(`k${i}`);
    }
    expect(c.size).toBe(100);
  });

  it("keeps the entries within a byte budget, counting what leaves by any way", () => {
    const clock = { now: 0 };
    const c = new BoundedCache<string>({ maxEntries: 100, maxBytes: 100, sizeOf: (value) => value.length, ttlMs: 1000, now: () => clock.now });
    c.set("a", "x".repeat(40));
    c.set("b", "x".repeat(40));
    c.get("a");
    c.set("c", "x".repeat(40));
    expect([c.get("b"), c.get("a"), c.get("c")].map((value) => value?.length)).toEqual([undefined, 40, 40]);
    expect(c.bytes).toBe(80);
    c.set("huge", "x".repeat(500));
    expect(c.get("huge")).toBeUndefined();
    expect(c.bytes).toBe(80);
    c.delete("a");
    c.deleteWhere((_, key) => key === "c");
    expect([c.size, c.bytes]).toEqual([0, 0]);
    c.set("d", "x".repeat(30), 10);
    clock.now = 20;
    expect(c.get("d")).toBeUndefined();
    expect(c.bytes).toBe(0);
  });

  it("runs one load for concurrent callers of the same key and keeps its result", async () => {
    const { cache: c } = cache();
    let loads = 0;
    const pending = deferred<string>();
    const loader = () => (loads++, pending.promise);
    const keep = (value: string) => c.set("k", value);
    const all = Promise.all(Array.from({ length: 64 }, () => c.load("k", loader, keep)));
    pending.resolve("V");
    expect(new Set(await all)).toEqual(new Set(["V"]));
    expect(loads).toBe(1);
    expect(c.get("k")).toBe("V");
  });

  it("does not keep a load that overlapped a deletion, which may have been about what it read", async () => {
    const { cache: c } = cache();
    const pending = deferred<string>();
    const loaded = c.load(
      "k",
      () => pending.promise,
      (value) => c.set("k", value),
    );
    c.delete("k");
    pending.resolve("stale");
    expect(await loaded).toBe("stale");
    expect(c.get("k")).toBeUndefined();

    const again = c.load(
      "k",
      () => Promise.resolve("fresh"),
      (value) => c.set("k", value),
    );
    expect(await again).toBe("fresh");
    expect(c.get("k")).toBe("fresh");
  });

  it("a failed load is not kept and the next caller loads afresh", async () => {
    const { cache: c } = cache();
    await expect(
      c.load(
        "k",
        () => Promise.reject(new Error("down")),
        (value: string) => c.set("k", value),
      ),
    ).rejects.toThrow("down");
    expect(
      await c.load(
        "k",
        () => Promise.resolve("up"),
        (value) => c.set("k", value),
      ),
    ).toBe("up");
  });

  it("deleteWhere drops exactly the entries picked", () => {
    const { cache: c } = cache(10);
    for (const key of ["a1", "a2", "b1"]) c.set(key, key);
    c.deleteWhere((value) => value.startsWith("a"));
    expect([c.get("a1"), c.get("a2"), c.get("b1")]).toEqual([undefined, undefined, "b1"]);
  });
});
