import { Code } from "@connectrpc/connect";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyStatus, KeyType, RateLimitAlgorithm, RefillPeriod } from "../../../gen/latchkey/v1/key_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { digestSecret, isWellFormedSecret } from "../../../src/domain/secret.js";
import { createKeyspace, expectCode, testApi, withoutWindowUse } from "../../support/api.js";

describe("CreateKey", () => {
  it("OK: returns the key and its secret, and stores only the digest", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key, secret } = await api.keys.createKey({
      key: { keyspaceId: keyspace.id, name: "ci", ownerId: "user_1", meta: { team: "core" }, permissions: ["documents.read"] },
    });
    expect(isWellFormedSecret(secret)).toBe(true);
    expect(secret.startsWith("pay_")).toBe(true);
    expect(key).toMatchObject({
      keyspaceId: keyspace.id,
      name: "ci",
      ownerId: "user_1",
      prefix: "pay",
      start: secret.slice(0, 8),
      meta: { team: "core" },
      permissions: ["documents.read"],
      enabled: true,
      type: KeyType.STANDARD,
      status: KeyStatus.ACTIVE,
      expired: false,
    });
    expect(key!.id).toMatch(/^key_/);
    const stored = await api.store.findKeyByHash((await api.workspace()).workspaceId, digestSecret(secret));
    expect(stored?.id).toBe(key!.id);
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it("OK: honours a key's own prefix and byte length", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key, secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, prefix: "sk_test" }, byteLength: 32 });
    expect(key!.prefix).toBe("sk_test");
    expect(secret).toMatch(/^sk_test_[1-9A-HJ-NP-Za-km-z]{50}$/);
  });

  it("OK: stores every modelled field and starts the refill period at creation", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const scalars = {
      description: "for the nightly job",
      organizationId: "org_1",
      externalId: "acme",
      createdBy: "alice",
      type: KeyType.MARKETPLACE_SUBSCRIPTION,
      subscriptionId: "sub_9",
      claims: { tier: "gold" },
      roles: ["admin"],
      scopes: ["read:users"],
      allowedOrigins: ["https://*.example.com"],
      enabled: false,
      expiresAt: timestampFromMs(api.clock.now + 60_000),
    };
    await api.rbac.createRole({ role: { name: "admin" } });
    const { key } = await api.keys.createKey({
      key: {
        ...scalars,
        keyspaceId: keyspace.id,
        resourceScopes: [{ resourceType: "collection", resourceIdPattern: "col_*", operations: ["read"] }],
        credits: { remaining: 100n, refill: { period: RefillPeriod.MONTHLY, dayOfMonth: 31, amount: 100n } },
        rateLimits: [{ name: "requests", limit: 10n, durationMs: 1000n, autoApply: true }],
      },
    });
    expect(key).toMatchObject({ ...scalars, status: KeyStatus.DISABLED });
    expect(key!.resourceScopes[0]).toMatchObject({ resourceType: "collection", resourceIdPattern: "col_*", operations: ["read"] });
    expect(key!.credits).toMatchObject({ remaining: 100n, refill: { period: RefillPeriod.MONTHLY, dayOfMonth: 31, amount: 100n } });
    expect(timestampMs(key!.credits!.refill!.lastRefillAt!)).toBe(api.clock.now);
    expect(key!.rateLimits[0]).toMatchObject({ name: "requests", limit: 10n, durationMs: 1000n, autoApply: true });
    expect(withoutWindowUse((await api.keys.getKey({ id: key!.id })).key!)).toEqual(key);
  });

  it.each([
    ["no key", {}, "key must be set"],
    ["no keyspace", { key: {} }, "key.keyspace_id must not be empty"],
    ["a malformed keyspace id", { key: { keyspaceId: "payments" } }, "key.keyspace_id is not a keyspace id"],
    ["a bad prefix", { key: { keyspaceId: newId("ks", 1), prefix: "sk-live" } }, "key.prefix"],
    ["too few random bytes", { key: { keyspaceId: newId("ks", 1) }, byteLength: 15 }, "byte_length"],
    ["an expiry in the past", { key: { keyspaceId: newId("ks", 1), expiresAt: timestampFromMs(0) } }, "key.expires_at must be in the future"],
    [
      "a negative credit balance",
      { key: { keyspaceId: newId("ks", 1), credits: { remaining: -1n } } },
      "key.credits.remaining must be greater than or equal to 0 and less than or equal to 9007199254740991",
    ],
    [
      "a refill without a period",
      { key: { keyspaceId: newId("ks", 1), credits: { remaining: 1n, refill: { amount: 1n } } } },
      "key.credits.refill.period must be set",
    ],
    [
      "a refill interval past 2^53",
      { key: { keyspaceId: newId("ks", 1), credits: { remaining: 1n, refill: { period: RefillPeriod.INTERVAL, intervalMs: 2n ** 60n, amount: 1n } } } },
      "key.credits.refill.interval_ms must be between 1000 and 9007199254740991",
    ],
    ["a rate limit with a zero window", { key: { keyspaceId: newId("ks", 1), rateLimits: [{ name: "r", limit: 1n }] } }, "key.rate_limits[0].duration_ms"],
    [
      "an int64 beyond 2^53",
      { key: { keyspaceId: newId("ks", 1), credits: { remaining: 2n ** 60n } } },
      "key.credits.remaining must be greater than or equal to 0 and less than or equal to 9007199254740991",
    ],
    ["an unknown enum value", { key: { keyspaceId: newId("ks", 1), type: 7 as KeyType } }, "key.type has unknown value 7"],
    [
      "an unknown rate-limit algorithm",
      { key: { keyspaceId: newId("ks", 1), rateLimits: [{ name: "r", limit: 1n, durationMs: 1000n, algorithm: 7 as RateLimitAlgorithm }] } },
      "key.rate_limits[0].algorithm has unknown value 7",
    ],
  ])("INVALID_ARGUMENT: %s", async (_, request, message) => {
    await expectCode(testApi().keys.createKey(request), Code.InvalidArgument, message);
  });

  it("OK: a rate limit counts in sliding windows when asked, and in fixed windows when not", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({
      key: {
        keyspaceId: keyspace.id,
        rateLimits: [
          { name: "sliding", limit: 10n, durationMs: 1000n, algorithm: RateLimitAlgorithm.SLIDING_WINDOW },
          { name: "fixed", limit: 10n, durationMs: 1000n, algorithm: RateLimitAlgorithm.FIXED_WINDOW },
          { name: "unset", limit: 10n, durationMs: 1000n },
        ],
      },
    });
    const algorithms = [RateLimitAlgorithm.SLIDING_WINDOW, RateLimitAlgorithm.FIXED_WINDOW, RateLimitAlgorithm.FIXED_WINDOW];
    expect(key!.rateLimits.map((limit) => limit.algorithm)).toEqual(algorithms);
    expect((await api.keys.getKey({ id: key!.id })).key!.rateLimits.map((limit) => limit.algorithm)).toEqual(algorithms);
  });

  it("NOT_FOUND: the keyspace does not exist, and nothing is written", async () => {
    const api = testApi();
    const keyspaceId = newId("ks", Date.now());
    await expectCode(api.keys.createKey({ key: { keyspaceId } }), Code.NotFound, `keyspace ${keyspaceId} not found`);
    expect(await api.store.listKeys({ keyspaceId, now: Date.now() }, { limit: 10 })).toEqual([]);
  });

  it("INVALID_ARGUMENT: a key holding more than 64 KiB as JSON, though each field is within its own limit; nothing is written", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const permissions = Array.from({ length: 1000 }, (_, i) => `documents.read.${i}.${"x".repeat(100)}`);
    await expectCode(api.keys.createKey({ key: { keyspaceId: keyspace.id, permissions } }), Code.InvalidArgument, "key must be at most 65536 bytes");
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id })).keys).toEqual([]);
  });

  it("INVALID_ARGUMENT: adding permissions a call at a time cannot grow a key past 1000 permissions or 64 KiB", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const batch = (from: number, length: number, width = 1) => Array.from({ length }, (_, i) => `p${from + i}${"x".repeat(width)}`);
    await api.keys.addKeyPermissions({ keyId: key!.id, names: batch(0, 800, 60) });
    await expectCode(
      api.keys.addKeyPermissions({ keyId: key!.id, names: batch(800, 201) }),
      Code.InvalidArgument,
      "names would give the key more than 1000 permissions",
    );
    await expectCode(api.keys.addKeyPermissions({ keyId: key!.id, names: batch(800, 150, 120) }), Code.InvalidArgument, "names must be at most 65536 bytes");
    expect((await api.keys.getKey({ id: key!.id })).key!.permissions).toHaveLength(800);
    let registered = 0;
    for (let pageToken = "", first = true; first || pageToken; first = false) {
      const page = await api.rbac.listPermissions({ pageToken });
      registered += page.permissions.length;
      pageToken = page.nextPageToken;
    }
    expect(registered).toBe(800);
  });

  it("INVALID_ARGUMENT: setting permissions holds the key to 64 KiB as adding does; the key keeps its own and none are registered", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, permissions: ["documents.read"] } });
    const names = Array.from({ length: 1000 }, (_, i) => `p${i}${"x".repeat(120)}`);
    await expectCode(api.keys.setKeyPermissions({ keyId: key!.id, names }), Code.InvalidArgument, "names must be at most 65536 bytes");
    expect((await api.keys.getKey({ id: key!.id })).key!.permissions).toEqual(["documents.read"]);
    expect((await api.rbac.listPermissions({})).permissions.map((permission) => permission.name)).toEqual(["documents.read"]);
  });

  it("PERMISSION_DENIED: creating the key's identity without identity.create writes no key and registers none of its permissions", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "limited", permissions: ["key.create", "key.read"] } });
    await expectCode(
      api.as(secret).keys.createKey({ key: { keyspaceId: keyspace.id, permissions: ["ghost.read"], externalId: "user_1" }, createIdentity: true }),
      Code.PermissionDenied,
      "this root key lacks the permission identity.create",
    );
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id })).keys).toEqual([]);
    expect((await api.rbac.listPermissions({})).permissions).toEqual([]);
  });

  it("INVALID_ARGUMENT: meta or claims holding NaN or Infinity, which JSON cannot carry to a client", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    for (const [field, value] of [
      ["meta", { ratio: Number.NaN }],
      ["claims", { nested: { limits: [1, Number.POSITIVE_INFINITY] } }],
    ] as const) {
      await expectCode(
        api.keys.createKey({ key: { keyspaceId: keyspace.id, [field]: value } }),
        Code.InvalidArgument,
        `key.${field} must hold finite numbers only, not NaN or Infinity`,
      );
    }
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id })).keys).toEqual([]);
  });
});
