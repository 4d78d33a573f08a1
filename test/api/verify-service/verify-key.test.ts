import { Code } from "@connectrpc/connect";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { type Key, KeyType, RateLimitAlgorithm, RefillPeriod } from "../../../gen/latchkey/v1/key_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { KeySchema } from "../../../gen/latchkey/v1/key_pb.js";
import type { VerifyKeyRequestSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import { issueSecret } from "../../../src/domain/secret.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi, type TestApi } from "../../support/api.js";
import { countingStore } from "../../support/counting-store.js";

type KeyInit = Omit<MessageInitShape<typeof KeySchema>, "keyspaceId" | "$typeName">;
type Check = Omit<MessageInitShape<typeof VerifyKeyRequestSchema>, "key" | "$typeName">;

async function issue(api: TestApi, key: KeyInit = {}): Promise<{ key: Key; secret: string }> {
  const keyspace = await createKeyspace(api);
  const created = await api.keys.createKey({ key: { ...key, keyspaceId: keyspace.id } });
  return { key: created.key!, secret: created.secret };
}

const verify = (api: TestApi, secret: string, check: Check = {}) => api.verify.verifyKey({ key: secret, ...check });

describe("VerifyKey verdicts", () => {
  it("VALID: returns what verifiers need to know of the key", async () => {
    const api = testApi();
    const identity = {
      name: "ci",
      ownerId: "user_1",
      organizationId: "org_1",
      externalId: "acme",
      meta: { plan: "pro" },
      claims: { tier: "gold" },
      permissions: ["documents.read"],
      roles: ["admin"],
      scopes: ["read:users"],
      expiresAt: timestampFromMs(api.clock.now + 60_000),
    };
    await api.rbac.createRole({ role: { name: "admin" } });
    const { key, secret } = await issue(api, { ...identity, description: "not for verifiers" });
    const result = await verify(api, secret);
    expect(result).toMatchObject({
      ...identity,
      valid: true,
      code: VerifyCode.VALID,
      keyId: key.id,
      keyspaceId: key.keyspaceId,
      rateLimits: [],
    });
    expect(result.creditsRemaining).toBeUndefined();
  });

  it("NOT_FOUND: malformed, unknown, deleted, or in another keyspace", async () => {
    const api = testApi();
    const { key, secret } = await issue(api);
    const unknown = issueSecret("pay", 16, 4).secret;
    for (const presented of ["nope", `${secret}x`, secret.slice(0, -1), unknown]) {
      expect(await verify(api, presented)).toMatchObject({ valid: false, code: VerifyCode.NOT_FOUND, keyId: "" });
    }
    const other = await createKeyspace(api, "other");
    expect((await verify(api, secret, { keyspaceId: other.id })).code).toBe(VerifyCode.NOT_FOUND);
    expect((await verify(api, secret, { keyspaceId: key.keyspaceId })).code).toBe(VerifyCode.VALID);
    await api.keys.deleteKey({ id: key.id });
    expect(await verify(api, secret)).toMatchObject({ code: VerifyCode.NOT_FOUND, keyId: "" });
  });

  it("NOT_FOUND: the key's keyspace was deleted", async () => {
    const api = testApi();
    const { key, secret } = await issue(api);
    await verify(api, secret);
    await api.keyspaces.deleteKeyspace({ id: key.keyspaceId, force: true });
    expect((await verify(api, secret)).code).toBe(VerifyCode.NOT_FOUND);
  });

  it("REVOKED, DISABLED, EXPIRED", async () => {
    const api = testApi();
    const revoked = await issue(api);
    await api.keys.revokeKey({ id: revoked.key.id });
    expect(await verify(api, revoked.secret)).toMatchObject({ valid: false, code: VerifyCode.REVOKED, keyId: revoked.key.id });

    const disabled = await issue(api, { enabled: false });
    expect(await verify(api, disabled.secret)).toMatchObject({ code: VerifyCode.DISABLED, keyId: disabled.key.id });

    const expiring = await issue(api, { expiresAt: timestampFromMs(api.clock.now + 1000) });
    api.clock.now += 999;
    expect((await verify(api, expiring.secret)).code).toBe(VerifyCode.VALID);
    api.clock.now += 1;
    expect((await verify(api, expiring.secret)).code).toBe(VerifyCode.EXPIRED);
  });

  it("FORBIDDEN: the origin is not allowed", async () => {
    const api = testApi();
    const { secret } = await issue(api, { allowedOrigins: ["https://app.example.com", "https://*.example.org"] });
    const code = async (origin: string) => (await verify(api, secret, { origin })).code;
    expect(await code("https://app.example.com")).toBe(VerifyCode.VALID);
    expect(await code("https://a.b.example.org")).toBe(VerifyCode.VALID);
    for (const origin of [
      "",
      "https://example.org",
      "https://evil-example.org",
      "http://app.example.com",
      "https://app.example.com.evil.io",
      "https://x.example.org.evil.io",
    ]) {
      expect(await code(origin), origin).toBe(VerifyCode.FORBIDDEN);
    }
    const open = await issue(api);
    expect((await verify(api, open.secret, { origin: "https://anything.example" })).code).toBe(VerifyCode.VALID);
  });

  it("INSUFFICIENT_PERMISSIONS: permission query, scopes and resource scopes", async () => {
    const api = testApi();
    const { secret } = await issue(api, {
      permissions: ["documents.read", "billing.*"],
      scopes: ["read:users"],
      resourceScopes: [{ resourceType: "collection", resourceIdPattern: "col_*", operations: ["read"] }],
    });
    const code = async (check: Check) => (await verify(api, secret, check)).code;
    expect(await code({ permissionQuery: "documents.read AND (documents.write OR billing.refund)" })).toBe(VerifyCode.VALID);
    expect(await code({ permissionQuery: "documents.write" })).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    expect(await code({ requiredScopes: ["read:users"] })).toBe(VerifyCode.VALID);
    expect(await code({ requiredScopes: ["read:users", "write:users"] })).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    expect(await code({ resource: { type: "collection", id: "col_42", operation: "read" } })).toBe(VerifyCode.VALID);
    expect(await code({ resource: { type: "collection", id: "col_42", operation: "write" } })).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    expect(await code({ resource: { type: "collection", id: "doc_42", operation: "read" } })).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    expect(await code({ resource: { type: "bucket", id: "col_42", operation: "read" } })).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
  });

  it("RATE_LIMITED: applies auto-applied limits and named ones, and reports each", async () => {
    const api = testApi();
    const { secret } = await issue(api, {
      rateLimits: [
        { name: "always", limit: 3n, durationMs: 1000n, autoApply: true },
        { name: "uploads", limit: 1n, durationMs: 60_000n },
      ],
    });
    const first = await verify(api, secret, { rateLimits: ["uploads"] });
    expect(first.code).toBe(VerifyCode.VALID);
    expect(first.rateLimits.map(({ name, limit, remaining, exceeded }) => ({ name, limit, remaining, exceeded }))).toEqual([
      { name: "always", limit: 3n, remaining: 2n, exceeded: false },
      { name: "uploads", limit: 1n, remaining: 0n, exceeded: false },
    ]);
    const second = await verify(api, secret, { rateLimits: ["uploads"] });
    expect(second.code).toBe(VerifyCode.RATE_LIMITED);
    expect(second.rateLimits.find((limit) => limit.name === "uploads")).toMatchObject({ exceeded: true, remaining: 0n });
    expect(timestampMs(second.rateLimits[1]!.resetAt!)).toBeGreaterThan(api.clock.now);
    expect((await verify(api, secret)).rateLimits.map((limit) => limit.remaining)).toEqual([1n]);
    expect((await verify(api, secret)).code).toBe(VerifyCode.VALID);
    expect((await verify(api, secret)).code).toBe(VerifyCode.RATE_LIMITED);
    api.clock.now += 1100;
    expect((await verify(api, secret)).code).toBe(VerifyCode.VALID);
  });

  it("RATE_LIMITED: a key's changed limits apply from its next verification, though the checks of a key are made once", async () => {
    const api = testApi();
    const { key, secret } = await issue(api, { rateLimits: [{ name: "api", limit: 5n, durationMs: 60_000n, autoApply: true }] });
    const limitsOf = async () => (await verify(api, secret)).rateLimits.map(({ name, limit, remaining }) => ({ name, limit, remaining }));
    expect(await limitsOf()).toEqual([{ name: "api", limit: 5n, remaining: 4n }]);
    expect(await limitsOf()).toEqual([{ name: "api", limit: 5n, remaining: 3n }]);
    const update = (rateLimits: MessageInitShape<typeof KeySchema>["rateLimits"]) =>
      api.keys.updateKey({ key: { id: key.id, rateLimits }, updateMask: { paths: ["rate_limits"] } });
    await update([{ name: "api", limit: 2n, durationMs: 60_000n, autoApply: true }]);
    expect(await limitsOf()).toEqual([{ name: "api", limit: 2n, remaining: 1n }]);
    await update([
      { name: "api", limit: 2n, durationMs: 60_000n, autoApply: false },
      { name: "burst", limit: 10n, durationMs: 1000n, autoApply: true },
    ]);
    expect(await limitsOf()).toEqual([{ name: "burst", limit: 10n, remaining: 9n }]);
    await update([]);
    expect(await limitsOf()).toEqual([]);
  });

  it("RATE_LIMITED: a sliding-window limit counts every call within the last duration, across its windows", async () => {
    const api = testApi();
    const { secret } = await issue(api, {
      rateLimits: [{ name: "rpm", limit: 3n, durationMs: 10_000n, autoApply: true, algorithm: RateLimitAlgorithm.SLIDING_WINDOW }],
    });
    for (let i = 0; i < 3; i++) {
      expect((await verify(api, secret)).code).toBe(VerifyCode.VALID);
      api.clock.now += 3000;
    }
    // 9.5 s after the first call, all three are within the last 10 s.
    api.clock.now += 500;
    const refused = await verify(api, secret);
    expect(refused.code).toBe(VerifyCode.RATE_LIMITED);
    expect(refused.rateLimits[0]).toMatchObject({ name: "rpm", limit: 3n, exceeded: true });
    // 10.5 s after it (more than a window and a cell), the first has left; the others have not.
    api.clock.now += 1000;
    expect((await verify(api, secret)).code).toBe(VerifyCode.VALID);
    expect((await verify(api, secret)).code).toBe(VerifyCode.RATE_LIMITED);
  });

  it("USAGE_EXCEEDED: spends the cost, refuses a cost above the balance without spending", async () => {
    const api = testApi();
    const { secret } = await issue(api, { credits: { remaining: 5n } });
    expect(await verify(api, secret)).toMatchObject({ code: VerifyCode.VALID, creditsRemaining: 4n });
    expect(await verify(api, secret, { cost: 3n })).toMatchObject({ code: VerifyCode.VALID, creditsRemaining: 1n });
    expect(await verify(api, secret, { cost: 2n })).toMatchObject({ code: VerifyCode.USAGE_EXCEEDED, valid: false, creditsRemaining: 1n });
    expect(await verify(api, secret, { cost: 0n })).toMatchObject({ code: VerifyCode.VALID, creditsRemaining: 1n });
    expect(await verify(api, secret)).toMatchObject({ code: VerifyCode.VALID, creditsRemaining: 0n });
    expect(await verify(api, secret)).toMatchObject({ code: VerifyCode.USAGE_EXCEEDED, creditsRemaining: 0n });
  });
});

describe("VerifyKey check order", () => {
  it("revoked outranks disabled, disabled outranks expired, expired outranks origin", async () => {
    const api = testApi();
    const { key, secret } = await issue(api, {
      enabled: false,
      expiresAt: timestampFromMs(api.clock.now + 10),
      allowedOrigins: ["https://app.example.com"],
      permissions: [],
    });
    api.clock.now += 10;
    const denied = { origin: "https://evil.example", permissionQuery: "admin" };
    expect((await verify(api, secret, denied)).code).toBe(VerifyCode.DISABLED);
    await api.keys.revokeKey({ id: key.id });
    expect((await verify(api, secret, denied)).code).toBe(VerifyCode.REVOKED);
    const enabled = await issue(api, { expiresAt: timestampFromMs(api.clock.now + 10), allowedOrigins: ["https://app.example.com"] });
    api.clock.now += 10;
    expect((await verify(api, enabled.secret, denied)).code).toBe(VerifyCode.EXPIRED);
  });

  it("origin outranks permissions, permissions outrank rate limits", async () => {
    const api = testApi();
    const { secret } = await issue(api, {
      allowedOrigins: ["https://app.example.com"],
      rateLimits: [{ name: "r", limit: 1n, durationMs: 60_000n, autoApply: true }],
    });
    expect((await verify(api, secret, { origin: "https://evil.example", permissionQuery: "admin" })).code).toBe(VerifyCode.FORBIDDEN);
    for (let i = 0; i < 3; i++) {
      expect((await verify(api, secret, { origin: "https://app.example.com", permissionQuery: "admin" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    }
    expect((await verify(api, secret, { origin: "https://app.example.com" })).code).toBe(VerifyCode.VALID);
  });

  it("rate limits outrank credits, and a rate-limited call spends no credit", async () => {
    const api = testApi();
    const { key, secret } = await issue(api, {
      credits: { remaining: 10n },
      rateLimits: [{ name: "r", limit: 1n, durationMs: 60_000n, autoApply: true }],
    });
    expect((await verify(api, secret)).creditsRemaining).toBe(9n);
    expect(await verify(api, secret, { cost: 100n })).toMatchObject({ code: VerifyCode.RATE_LIMITED, creditsRemaining: 9n });
    expect((await api.store.getKey(key.id))!.credits!.remaining).toBe(9);
  });

  it("a failed earlier check spends no credit", async () => {
    const api = testApi();
    const { key, secret } = await issue(api, { credits: { remaining: 10n }, permissions: ["a"] });
    expect((await verify(api, secret, { permissionQuery: "b" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    expect((await api.store.getKey(key.id))!.credits!.remaining).toBe(10);
  });
});

describe("VerifyKey refills", () => {
  const refilled = async (api: TestApi, refill: object, step: () => void) => {
    const { secret } = await issue(api, { credits: { remaining: 1n, refill: { amount: 5n, ...refill } } });
    expect((await verify(api, secret)).creditsRemaining).toBe(0n);
    expect((await verify(api, secret)).code).toBe(VerifyCode.USAGE_EXCEEDED);
    step();
    const after = await verify(api, secret);
    expect(after).toMatchObject({ code: VerifyCode.VALID, creditsRemaining: 4n });
    return secret;
  };

  it("by interval, counted from creation", async () => {
    const api = testApi();
    const created = api.clock.now;
    const secret = await refilled(api, { period: RefillPeriod.INTERVAL, intervalMs: 60_000n }, () => (api.clock.now = created + 60_000));
    api.clock.now = created + 119_999;
    expect((await verify(api, secret)).creditsRemaining).toBe(3n);
    api.clock.now = created + 120_000;
    expect((await verify(api, secret)).creditsRemaining).toBe(4n);
  });

  it("daily, at 00:00 UTC", async () => {
    const api = testApi();
    api.clock.now = Date.UTC(2026, 0, 15, 23, 0);
    await refilled(api, { period: RefillPeriod.DAILY }, () => (api.clock.now = Date.UTC(2026, 0, 16)));
  });

  it("monthly, on the month's last day when it has no such day", async () => {
    const api = testApi();
    api.clock.now = Date.UTC(2026, 1, 10);
    const secret = await refilled(api, { period: RefillPeriod.MONTHLY, dayOfMonth: 31 }, () => (api.clock.now = Date.UTC(2026, 1, 28, 0, 0, 1)));
    api.clock.now = Date.UTC(2026, 2, 30);
    expect((await verify(api, secret)).creditsRemaining).toBe(3n);
    api.clock.now = Date.UTC(2026, 2, 31);
    expect((await verify(api, secret)).creditsRemaining).toBe(4n);
  });

  it("records the refill and sets the balance rather than adding to it", async () => {
    const api = testApi();
    const { key, secret } = await issue(api, {
      credits: { remaining: 3n, refill: { period: RefillPeriod.INTERVAL, intervalMs: 1000n, amount: 5n } },
    });
    api.clock.now += 1000;
    expect((await verify(api, secret)).creditsRemaining).toBe(4n);
    const stored = (await api.keys.getKey({ id: key.id })).key!;
    expect(timestampMs(stored.credits!.refill!.lastRefillAt!)).toBe(api.clock.now);
  });
});

describe("VerifyKey and storage", () => {
  it("answers a known key from the cache, and a flood of malformed or repeated unknown keys without storage reads", async () => {
    const { store, calls } = countingStore();
    const api = testApi(store);
    const { secret } = await issue(api);
    const unknown = issueSecret("pay", 16, 4).secret;
    await verify(api, secret);
    await verify(api, unknown);
    // Secrets not of latchkey's format (an imported key's may be anything) are ruled out by the known-digest filter.
    await api.verification.known.rebuild();
    calls.clear();
    for (let i = 0; i < 500; i++) {
      await verify(api, secret);
      await verify(api, unknown);
      await verify(api, `pay_${"x".repeat(i % 40)}`);
      await verify(api, secret.slice(0, -1) + (secret.endsWith("1") ? "2" : "1"));
    }
    expect((await verify(api, secret + "x".repeat(500_000))).code).toBe(VerifyCode.NOT_FOUND);
    expect(Object.fromEntries(calls)).toEqual({});
  });

  it("keeps at most the configured number of keys, giving recently used ones a second chance", async () => {
    const { store, calls } = countingStore();
    const api = testApi(store, { cacheMaxKeys: 3 });
    const [a, b, c, d] = [await issue(api), await issue(api), await issue(api), await issue(api)];
    for (const key of [a, b, c]) await verify(api, key.secret);
    await verify(api, a.secret);
    await verify(api, d.secret);
    expect(api.verification.cache.stats.entries).toBe(3);
    calls.clear();
    for (const key of [a, c, d]) expect((await verify(api, key.secret)).code).toBe(VerifyCode.VALID);
    expect(calls.get("findKeyByHash")).toBeUndefined();
    await verify(api, b.secret);
    expect(calls.get("findKeyByHash")).toBe(1);
  });

  it("keeps the negative cache bounded", async () => {
    const api = testApi(undefined, { cacheMaxMisses: 10 });
    for (let i = 0; i < 50; i++) await verify(api, issueSecret("pay", 16, 4).secret);
    expect(api.verification.cache.stats.misses).toBe(10);
  });

  it("sees changes made on this instance at once, a freshly created key included", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key, secret } = await issue(api);
    expect((await verify(api, secret)).code).toBe(VerifyCode.VALID);
    await api.keys.updateKey({ key: { id: key.id, enabled: false }, updateMask: { paths: ["enabled"] } });
    expect((await verify(api, secret)).code).toBe(VerifyCode.DISABLED);
    await api.keys.updateKey({ key: { id: key.id, enabled: true, permissions: ["x"] }, updateMask: { paths: ["enabled", "permissions"] } });
    expect((await verify(api, secret, { permissionQuery: "x" })).code).toBe(VerifyCode.VALID);
    await api.keys.revokeKey({ id: key.id });
    expect((await verify(api, secret)).code).toBe(VerifyCode.REVOKED);
    await api.keys.deleteKey({ id: key.id, permanent: true });
    expect((await verify(api, secret)).code).toBe(VerifyCode.NOT_FOUND);

    const reused = issueSecret("pay", 16, 4);
    expect((await verify(api, reused.secret)).code).toBe(VerifyCode.NOT_FOUND);
    const later = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    expect((await verify(api, later.secret)).code).toBe(VerifyCode.VALID);
  });

  it("coalesces last_used_at writes, to the minute, and flushes them", async () => {
    const { store, calls } = countingStore();
    const api = testApi(store);
    const { key, secret } = await issue(api);
    const firstUse = api.clock.now;
    for (let i = 0; i < 100; i++) {
      await verify(api, secret);
      api.clock.now += 10;
    }
    expect(calls.get("recordKeyUse")).toBeUndefined();
    await api.verification.usage.flush();
    expect(calls.get("recordKeyUse")).toBe(1);
    expect(timestampMs((await api.keys.getKey({ id: key.id })).key!.lastUsedAt!)).toBe(firstUse);
    api.clock.now = firstUse + 60_000;
    await verify(api, secret);
    await api.verification.usage.flush();
    expect(calls.get("recordKeyUse")).toBe(2);
    expect(timestampMs((await api.keys.getKey({ id: key.id })).key!.lastUsedAt!)).toBe(firstUse + 60_000);
  });
});

describe("VerifyKey request errors", () => {
  it.each<[string, Check & { key?: string }, string]>([
    ["no key", { key: "" }, "key must be at least 1 characters"],
    ["an overlong required scope", { requiredScopes: ["s".repeat(129)] }, "required_scopes[0] must be at most 128 characters"],
    ["an overlong rate limit name", { rateLimits: ["r".repeat(65)] }, "rate_limits[0] must be at most 64 characters"],
    ["a negative cost", { cost: -1n }, "cost"],
    ["a malformed keyspace id", { keyspaceId: "payments" }, "keyspace_id is not a keyspace id"],
    ["a broken permission query", { permissionQuery: "a AND" }, "permission_query ends where a permission is expected"],
    ["an overlong permission query", { permissionQuery: "a".repeat(1025) }, "permission_query must be at most 1024 characters"],
    ["a resource without an id", { resource: { type: "doc", id: "", operation: "read" } }, "resource.id"],
    ["too many tags", { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, "tags"],
  ])("INVALID_ARGUMENT: %s", async (_, request, message) => {
    await expectCode(testApi().verify.verifyKey({ key: "pay_x", ...request }), Code.InvalidArgument, message);
  });

  it("a valid keyspace id that does not exist is a verdict, not an error", async () => {
    const api = testApi();
    const { secret } = await issue(api);
    expect((await verify(api, secret, { keyspaceId: newId("ks", 1) })).code).toBe(VerifyCode.NOT_FOUND);
  });

  it("keeps subscription keys verifiable like any other", async () => {
    const api = testApi();
    const { secret } = await issue(api, { type: KeyType.MARKETPLACE_SUBSCRIPTION, subscriptionId: "sub_1" });
    expect((await verify(api, secret)).code).toBe(VerifyCode.VALID);
  });
});
