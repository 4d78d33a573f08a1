import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import { ALL_KEY_ATTRIBUTES, KEY_ATTRIBUTE_DEFAULTS, type KeyAttributes, keyStatus, validateKeyAttributes } from "../../src/domain/key.js";

const now = Date.UTC(2026, 0, 15);
const validate = (changes: Partial<KeyAttributes>, changed = ALL_KEY_ATTRIBUTES) =>
  validateKeyAttributes({ ...KEY_ATTRIBUTE_DEFAULTS, ...changes }, { now, changed });

function expectInvalid(changes: Partial<KeyAttributes>, field: string) {
  let error: unknown;
  try {
    validate(changes);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).kind).toBe("invalid_argument");
  expect((error as DomainError).message.startsWith(`${field} `)).toBe(true);
  expect((error as DomainError).message).not.toMatch(/[/?:@&=+,#]/);
}

describe("validateKeyAttributes", () => {
  it("accepts a fully described key and drops repeated list entries", () => {
    const valid = validate({
      name: "ci",
      type: "marketplace_subscription",
      subscriptionId: "sub_1",
      meta: { plan: "pro" },
      permissions: ["documents.read", "documents.read", "api.*.write"],
      scopes: ["read:users"],
      roles: ["admin"],
      resourceScopes: [{ resourceType: "collection", resourceIdPattern: "col_*", operations: ["read", "read"] }],
      allowedOrigins: ["https://app.example.com", "https://*.example.com", "http://localhost:3000"],
      expiresAt: new Date(now + 1),
      credits: { remaining: 0, refill: { period: "monthly", intervalMs: 0, dayOfMonth: 31, amount: 10, lastRefillAt: null } },
      rateLimits: [{ name: "requests", limit: 10, durationMs: 1000, autoApply: true }],
    });
    expect(valid.permissions).toEqual(["documents.read", "api.*.write"]);
    expect(valid.resourceScopes[0]!.operations).toEqual(["read"]);
  });

  it.each<[string, Partial<KeyAttributes>, string]>([
    ["a subscription key without a subscription", { type: "marketplace_subscription" }, "key.subscription_id"],
    ["a subscription id on a standard key", { subscriptionId: "sub_1" }, "key.subscription_id"],
    ["oversized meta", { meta: { blob: "x".repeat(17 * 1024) } }, "key.meta"],
    ["oversized claims", { claims: { blob: "x".repeat(17 * 1024) } }, "key.claims"],
    ["a permission with spaces", { permissions: ["documents read"] }, "key.permissions[0]"],
    ["an empty role", { roles: ["ok", ""] }, "key.roles[1]"],
    ["a scope with a slash", { scopes: ["a/b"] }, "key.scopes[0]"],
    [
      "a resource scope without operations",
      { resourceScopes: [{ resourceType: "doc", resourceIdPattern: "*", operations: [] }] },
      "key.resource_scopes[0].operations",
    ],
    [
      "a resource type in capitals",
      { resourceScopes: [{ resourceType: "Doc", resourceIdPattern: "*", operations: ["read"] }] },
      "key.resource_scopes[0].resource_type",
    ],
    ["an origin with a path", { allowedOrigins: ["https://example.com/app"] }, "key.allowed_origins[0]"],
    ["an origin with a trailing slash", { allowedOrigins: ["https://example.com/"] }, "key.allowed_origins[0]"],
    ["a non-web origin", { allowedOrigins: ["ftp://example.com"] }, "key.allowed_origins[0]"],
    ["a bare wildcard origin", { allowedOrigins: ["https://*"] }, "key.allowed_origins[0]"],
    ["a wildcard over a top-level domain", { allowedOrigins: ["https://*.com"] }, "key.allowed_origins[0]"],
    ["a wildcard in the middle", { allowedOrigins: ["https://app.*.example.com"] }, "key.allowed_origins[0]"],
    ["an expiry in the past", { expiresAt: new Date(now - 1) }, "key.expires_at"],
    ["an expiry right now", { expiresAt: new Date(now) }, "key.expires_at"],
    [
      "an interval refill without an interval",
      { credits: { remaining: 1, refill: { period: "interval", intervalMs: 0, dayOfMonth: 0, amount: 5, lastRefillAt: null } } },
      "key.credits.refill.interval_ms",
    ],
    [
      "a daily refill with an interval",
      { credits: { remaining: 1, refill: { period: "daily", intervalMs: 5000, dayOfMonth: 0, amount: 5, lastRefillAt: null } } },
      "key.credits.refill.interval_ms",
    ],
    [
      "a monthly refill on day 32",
      { credits: { remaining: 1, refill: { period: "monthly", intervalMs: 0, dayOfMonth: 32, amount: 5, lastRefillAt: null } } },
      "key.credits.refill.day_of_month",
    ],
    [
      "a daily refill with a day of month",
      { credits: { remaining: 1, refill: { period: "daily", intervalMs: 0, dayOfMonth: 3, amount: 5, lastRefillAt: null } } },
      "key.credits.refill.day_of_month",
    ],
    [
      "two rate limits with one name",
      {
        rateLimits: [
          { name: "r", limit: 1, durationMs: 1000, autoApply: false },
          { name: "r", limit: 2, durationMs: 1000, autoApply: false },
        ],
      },
      "key.rate_limits[1].name",
    ],
  ])("rejects %s, naming the field", (_, changes, field) => expectInvalid(changes, field));

  it("checks the expiry only when the request sets it", () => {
    const expired = { ...KEY_ATTRIBUTE_DEFAULTS, expiresAt: new Date(now - 1000) };
    expect(() => validateKeyAttributes(expired, { now, changed: new Set(["name"]) })).not.toThrow();
  });
});

describe("keyStatus", () => {
  const base = { revokedAt: null, enabled: true, expiresAt: null };
  it("is active, disabled, expired or revoked, in that order of precedence", () => {
    expect(keyStatus(base, now)).toBe("active");
    expect(keyStatus({ ...base, expiresAt: new Date(now + 1) }, now)).toBe("active");
    expect(keyStatus({ ...base, expiresAt: new Date(now) }, now)).toBe("expired");
    expect(keyStatus({ ...base, enabled: false, expiresAt: new Date(now) }, now)).toBe("disabled");
    expect(keyStatus({ ...base, enabled: false, revokedAt: new Date(now) }, now)).toBe("revoked");
  });
});
