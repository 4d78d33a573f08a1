import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MAX_OVERRIDES_PER_NAMESPACE } from "../../../src/domain/ratelimit.js";
import { CELLS_PER_WINDOW } from "../../../src/domain/sliding-window.js";
import { MemoryStore } from "../../../src/store/memory.js";
import { expectCode, testApi } from "../../support/api.js";

const login = (identifier: string, extra: object = {}) => ({ namespace: "logins", identifier, limit: 3n, durationMs: 60_000n, ...extra });

/** Holds every call of `method` on `target` until `release`; `reached` settles when the first call arrives. */
function holdCalls<T extends Record<K, (...args: never[]) => Promise<unknown>>, K extends keyof T>(target: T, method: K) {
  const original = target[method].bind(target) as (...args: unknown[]) => Promise<unknown>;
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  target[method] = (async (...args: unknown[]) => {
    arrived();
    await released;
    return original(...args);
  }) as unknown as T[K];
  return { reached, release };
}

describe("RatelimitService.Limit", () => {
  it("OK: admits up to the limit, then refuses, and admits again once the window has slid past", async () => {
    const api = testApi();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await api.ratelimits.limit(login("203.0.113.7")));
    expect(answers.map((answer) => answer.success)).toEqual([true, true, true, false]);
    expect(answers.map((answer) => answer.remaining)).toEqual([2n, 1n, 0n, 0n]);
    expect(answers[0]).toMatchObject({ limit: 3n, durationMs: 60_000n, overrideId: "" });
    // Another identifier, and the same one in another namespace, count on their own.
    expect((await api.ratelimits.limit(login("203.0.113.8"))).success).toBe(true);
    expect((await api.ratelimits.limit({ ...login("203.0.113.7"), namespace: "signups" })).success).toBe(true);
    const resetAt = Number(answers[3]!.resetAt!.seconds) * 1000 + Math.floor(answers[3]!.resetAt!.nanos / 1e6);
    expect(resetAt - api.clock.now).toBeGreaterThan(60_000);
    expect(resetAt - api.clock.now).toBeLessThanOrEqual(60_000 + 60_000 / CELLS_PER_WINDOW);
    api.clock.now = resetAt;
    expect((await api.ratelimits.limit(login("203.0.113.7"))).success).toBe(true);
  });

  it("OK: cost spends several units at once, a cost of 0 only asks, a cost above the limit is refused", async () => {
    const api = testApi();
    expect(await api.ratelimits.limit(login("a@example.com", { cost: 2n }))).toMatchObject({ success: true, remaining: 1n });
    expect(await api.ratelimits.limit(login("a@example.com", { cost: 0n }))).toMatchObject({ success: true, remaining: 1n });
    expect(await api.ratelimits.limit(login("a@example.com", { cost: 2n }))).toMatchObject({ success: false, remaining: 1n });
    expect(await api.ratelimits.limit(login("a@example.com", { cost: 1n }))).toMatchObject({ success: true, remaining: 0n });
    expect(await api.ratelimits.limit(login("a@example.com", { cost: 0n }))).toMatchObject({ success: false, remaining: 0n });
    expect(await api.ratelimits.limit(login("b@example.com", { cost: 4n }))).toMatchObject({ success: false });
  });

  it("OK: an exact override beats a pattern, a longer pattern beats a shorter one, and a pattern beats the request's own values", async () => {
    const api = testApi();
    const set = async (identifier: string, limit: bigint) => {
      api.clock.now += 1;
      return (await api.ratelimits.setOverride({ override: { namespace: "logins", identifier, limit, durationMs: 1000n } })).override!;
    };
    const domain = await set("*@example.com", 10n);
    const everyone = await set("*", 20n);
    const ceo = await set("ceo@example.com", 100n);
    const applied = async (identifier: string) => {
      const answer = await api.ratelimits.limit(login(identifier));
      return [answer.limit, answer.durationMs, answer.overrideId];
    };
    expect(await applied("ceo@example.com")).toEqual([100n, 1000n, ceo.id]);
    expect(await applied("dev@example.com")).toEqual([10n, 1000n, domain.id]);
    expect(await applied("dev@example.org")).toEqual([20n, 1000n, everyone.id]);
    expect((await api.ratelimits.limit({ ...login("dev@example.org"), namespace: "signups" })).overrideId).toBe("");

    const { override: replaced } = await api.ratelimits.setOverride({
      override: { namespace: "logins", identifier: "*@example.com", limit: 7n, durationMs: 2000n },
    });
    expect(replaced).toMatchObject({ id: domain.id, limit: 7n, durationMs: 2000n });
    expect(await applied("dev@example.com")).toEqual([7n, 2000n, domain.id]);
    expect((await api.ratelimits.getOverride({ namespace: "logins", identifier: "*@example.com" })).override).toEqual(replaced);
    expect((await api.ratelimits.listOverrides({ namespace: "logins" })).overrides.map((override) => override.identifier)).toEqual([
      "*@example.com",
      "*",
      "ceo@example.com",
    ]);
    await api.ratelimits.deleteOverride({ namespace: "logins", identifier: "*@example.com" });
    expect(await applied("dev@example.com")).toEqual([20n, 1000n, everyone.id]);
    await expectCode(
      api.ratelimits.getOverride({ namespace: "logins", identifier: "*@example.com" }),
      Code.NotFound,
      "rate-limit override of this namespace and identifier not found",
    );
    await expectCode(api.ratelimits.deleteOverride({ namespace: "logins", identifier: "*@example.com" }), Code.NotFound);
  });

  it("OK: an override set through one instance applies on another once its change feed is polled", async () => {
    const store = new MemoryStore();
    const here = testApi(store);
    const elsewhere = testApi(store);
    await here.workspace();
    const there = elsewhere.as((await here.workspace()).secret);
    await elsewhere.verification.changes.poll();
    expect((await there.ratelimits.limit(login("vip"))).limit).toBe(3n);
    const { override } = await here.ratelimits.setOverride({ override: { namespace: "logins", identifier: "vip", limit: 50n, durationMs: 60_000n } });
    await elsewhere.verification.changes.poll();
    expect(await there.ratelimits.limit(login("vip"))).toMatchObject({ limit: 50n, overrideId: override!.id });
    await here.ratelimits.deleteNamespace({ name: "logins" });
    await elsewhere.verification.changes.poll();
    expect(await there.ratelimits.limit(login("vip"))).toMatchObject({ limit: 3n, overrideId: "" });
  });

  it("OK: namespaces are made by first use, listed, and deleted with their overrides; counts outlive the namespace", async () => {
    const api = testApi();
    await api.ratelimits.limit(login("x", { limit: 1n }));
    api.clock.now += 1;
    await api.ratelimits.setOverride({ override: { namespace: "exports", identifier: "tenant-*", limit: 2n, durationMs: 3_600_000n } });
    expect((await api.ratelimits.listNamespaces({})).namespaces.map((namespace) => namespace.name)).toEqual(["logins", "exports"]);
    const page = await api.ratelimits.listNamespaces({ pageSize: 1 });
    expect((await api.ratelimits.listNamespaces({ pageToken: page.nextPageToken })).namespaces.map((namespace) => namespace.name)).toEqual(["exports"]);
    await api.ratelimits.deleteNamespace({ name: "logins" });
    await api.ratelimits.deleteNamespace({ name: "exports" });
    expect((await api.ratelimits.listNamespaces({})).namespaces).toEqual([]);
    expect((await api.ratelimits.listOverrides({ namespace: "exports" })).overrides).toEqual([]);
    await expectCode(api.ratelimits.deleteNamespace({ name: "logins" }), Code.NotFound, "rate-limit namespace logins not found");
    expect((await api.ratelimits.limit(login("x", { limit: 1n }))).success).toBe(false);
  });

  it("a DeleteNamespace landing inside a SetOverride leaves what one order of the two would: the override with its namespace, deletable again", async () => {
    const store = new MemoryStore();
    const api = testApi(store);
    await api.ratelimits.setOverride({ override: { namespace: "exports", identifier: "old", limit: 5n, durationMs: 1000n } });
    const { reached, release } = holdCalls(store.ratelimits.overrides, "insert");
    const set = api.ratelimits.setOverride({ override: { namespace: "exports", identifier: "vip", limit: 100n, durationMs: 1000n } });
    await reached;
    await api.ratelimits.deleteNamespace({ name: "exports" });
    release();
    await set;
    expect((await api.ratelimits.listNamespaces({})).namespaces.map((namespace) => namespace.name)).toEqual(["exports"]);
    expect((await api.ratelimits.listOverrides({ namespace: "exports" })).overrides.map((override) => override.identifier)).toEqual(["vip"]);
    await api.ratelimits.deleteNamespace({ name: "exports" });
    expect((await api.ratelimits.listOverrides({ namespace: "exports" })).overrides).toEqual([]);
  });

  it("a SetOverride landing inside a DeleteNamespace, between its sweep of the overrides and the namespace's deletion, leaves no override behind", async () => {
    const store = new MemoryStore();
    const api = testApi(store);
    await api.ratelimits.setOverride({ override: { namespace: "exports", identifier: "old", limit: 5n, durationMs: 1000n } });
    const { reached, release } = holdCalls(store.ratelimits.namespaces, "delete");
    const deleted = api.ratelimits.deleteNamespace({ name: "exports" });
    await reached;
    await api.ratelimits.setOverride({ override: { namespace: "exports", identifier: "vip", limit: 100n, durationMs: 1000n } });
    release();
    await deleted;
    expect((await api.ratelimits.listNamespaces({})).namespaces).toEqual([]);
    expect((await api.ratelimits.listOverrides({ namespace: "exports" })).overrides).toEqual([]);
  });

  it("FAILED_PRECONDITION: a namespace holding 1000 overrides takes no new one, and still replaces one it holds", async () => {
    const api = testApi();
    const override = (identifier: string, limit = 5n) => ({ override: { namespace: "logins", identifier, limit, durationMs: 60_000n } });
    for (let i = 0; i < MAX_OVERRIDES_PER_NAMESPACE; i++) await api.ratelimits.setOverride(override(`user-${i}`));
    const error = await expectCode(api.ratelimits.setOverride(override("user-x")), Code.FailedPrecondition, "a namespace holds at most 1000 overrides");
    expect(error.rawMessage).not.toMatch(/[/?:@&=+,#]/);
    expect((await api.ratelimits.setOverride(override("user-7", 9n))).override).toMatchObject({ identifier: "user-7", limit: 9n });
    expect(await api.ratelimits.limit(login("user-999"))).toMatchObject({ limit: 5n });
    await expectCode(api.ratelimits.getOverride({ namespace: "logins", identifier: "user-x" }), Code.NotFound);
  });

  it("records override and namespace changes in the audit log", async () => {
    const api = testApi();
    await api.ratelimits.setOverride({ override: { namespace: "logins", identifier: "*", limit: 2n, durationMs: 1000n } });
    api.clock.now += 1;
    await api.ratelimits.deleteOverride({ namespace: "logins", identifier: "*" });
    api.clock.now += 1;
    await api.ratelimits.deleteNamespace({ name: "logins" });
    await api.ratelimits.limit(login("x"));
    const { events } = await api.audit.listAuditEvents({});
    expect(events.map((event) => event.action).filter((action) => action.startsWith("ratelimit"))).toEqual([
      "ratelimit.override.set",
      "ratelimit.override.delete",
      "ratelimit.namespace.delete",
    ]);
  });

  it("INVALID_ARGUMENT: durations, limits and costs beyond their floors and ceilings, malformed namespaces and identifiers", async () => {
    const api = testApi();
    const cases: [object, string][] = [
      [{ durationMs: 999n }, "duration_ms must be greater than or equal to 1000 and less than or equal to 604800000"],
      [{ durationMs: 604_800_001n }, "duration_ms must be greater than or equal to 1000 and less than or equal to 604800000"],
      [{ limit: 0n }, "limit must be greater than or equal to 1 and less than or equal to 1000000000"],
      [{ limit: 1_000_000_001n }, "limit must be greater than or equal to 1 and less than or equal to 1000000000"],
      [{ cost: -1n }, "cost must be greater than or equal to 0 and less than or equal to 1000000000"],
      [{ namespace: "" }, "namespace"],
      [{ namespace: "has space" }, "namespace"],
      [{ namespace: "n".repeat(65) }, "namespace"],
      [{ identifier: "" }, "identifier"],
      [{ identifier: "with space" }, "identifier"],
      [{ identifier: "star*" }, "identifier"],
      [{ identifier: "i".repeat(257) }, "identifier"],
      [{ identifier: "naïve" }, "identifier"],
    ];
    for (const [fields, start] of cases) {
      const error = await expectCode(api.ratelimits.limit(login("x", fields)), Code.InvalidArgument, start);
      expect(error.rawMessage).not.toMatch(/[/?:@&=+,#]/);
    }
    await expectCode(api.ratelimits.multiLimit({ limits: [] }), Code.InvalidArgument, "limits must contain at least 1 item");
    await expectCode(api.ratelimits.multiLimit({ limits: Array.from({ length: 21 }, () => login("x")) }), Code.InvalidArgument);
    await expectCode(api.ratelimits.setOverride({}), Code.InvalidArgument, "override");
    await expectCode(api.ratelimits.setOverride({ override: { namespace: "logins", identifier: "x", limit: 1n, durationMs: 10n } }), Code.InvalidArgument);
    await expectCode(api.ratelimits.listOverrides({ namespace: "logins", pageToken: "junk" }), Code.InvalidArgument, "page_token");
  });
});
