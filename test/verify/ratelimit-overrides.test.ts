import { describe, expect, it } from "vitest";
import { MAX_OVERRIDES_PER_NAMESPACE, overridesChangeTarget } from "../../src/domain/ratelimit.js";
import { MemoryStore } from "../../src/store/memory.js";
import { RatelimitOverrides } from "../../src/verify/ratelimit-overrides.js";
import { overrideRecord } from "../support/fixtures.js";

describe("RatelimitOverrides", () => {
  it("reads a namespace once, answers from memory after, records the namespace, and reads again after a change or the time limit", async () => {
    const store = new MemoryStore();
    let reads = 0;
    const counted = Object.assign(Object.create(store.ratelimits) as typeof store.ratelimits, {
      overrides: Object.assign(Object.create(store.ratelimits.overrides) as typeof store.ratelimits.overrides, {
        list: (...args: Parameters<typeof store.ratelimits.overrides.list>) => {
          reads++;
          return store.ratelimits.overrides.list(...args);
        },
      }),
    });
    const clock = { now: 1000 };
    const overrides = new RatelimitOverrides(counted, { now: () => clock.now, ttlMs: 60_000 });
    await store.ratelimits.overrides.insert(overrideRecord({ workspaceId: "ws_a", identifier: "vip", limit: 50 }));
    expect((await overrides.of("ws_a", "logins")).match("vip")?.limit).toBe(50);
    const held = overrides.of("ws_a", "logins");
    expect(held).not.toBeInstanceOf(Promise);
    expect((await store.ratelimits.namespaces.list({ workspaceId: "ws_a" }, { limit: 10 })).map((namespace) => namespace.name)).toEqual(["logins"]);

    await store.ratelimits.overrides.update({ id: "rlov_vip" }, { limit: 60 });
    expect((overrides.of("ws_a", "logins") as Awaited<typeof held>).match("vip")?.limit).toBe(50);
    overrides.evict(overridesChangeTarget("ws_b", "logins"));
    expect((overrides.of("ws_a", "logins") as Awaited<typeof held>).match("vip")?.limit).toBe(50);
    overrides.evict(overridesChangeTarget("ws_a", "logins"));
    expect((await overrides.of("ws_a", "logins")).match("vip")?.limit).toBe(60);

    await store.ratelimits.overrides.update({ id: "rlov_vip" }, { limit: 70 });
    clock.now += 60_001;
    expect((await overrides.of("ws_a", "logins")).match("vip")?.limit).toBe(70);
    expect(reads).toBe(3);
  });

  it("applies every override of a namespace, even the few beyond the cap that SetOverrides racing at it can leave", async () => {
    const store = new MemoryStore();
    for (let i = 0; i <= MAX_OVERRIDES_PER_NAMESPACE; i++) {
      await store.ratelimits.overrides.insert(overrideRecord({ identifier: `user-${String(i).padStart(4, "0")}`, limit: i + 1 }));
    }
    const overrides = new RatelimitOverrides(store.ratelimits, { now: () => 0, ttlMs: 60_000 });
    const last = `user-${MAX_OVERRIDES_PER_NAMESPACE}`;
    expect((await overrides.of("ws_a", "logins")).match(last)?.limit).toBe(MAX_OVERRIDES_PER_NAMESPACE + 1);
  });

  it("keeps no failed read, and holds at most maxNamespacesPerWorkspace namespaces of a workspace", async () => {
    const store = new MemoryStore();
    let failing = true;
    const flaky = Object.assign(Object.create(store.ratelimits) as typeof store.ratelimits, {
      namespaces: Object.assign(Object.create(store.ratelimits.namespaces) as typeof store.ratelimits.namespaces, {
        insertMissing: (records: Parameters<typeof store.ratelimits.namespaces.insertMissing>[0]) =>
          failing ? Promise.reject(new Error("down")) : store.ratelimits.namespaces.insertMissing(records),
      }),
    });
    const overrides = new RatelimitOverrides(flaky, { now: () => 0, ttlMs: 60_000, maxNamespacesPerWorkspace: 2 });
    await expect(Promise.resolve(overrides.of("ws_a", "logins"))).rejects.toThrow("down");
    failing = false;
    await overrides.of("ws_a", "logins");
    await overrides.of("ws_a", "exports");
    await overrides.of("ws_a", "signups");
    expect(overrides.of("ws_a", "signups")).not.toBeInstanceOf(Promise);
    expect(overrides.of("ws_a", "logins")).toBeInstanceOf(Promise);
  });
});
