import type { VerifyRequest } from "../../src/verify/verifier.js";
import { KEY_ATTRIBUTE_DEFAULTS, type KeyRecord } from "../../src/domain/key.js";
import type { KeyspaceRecord } from "../../src/domain/keyspace.js";
import { newId } from "../../src/domain/ids.js";
import { issueSecret } from "../../src/domain/secret.js";
import type { RootKeyRecord } from "../../src/domain/access.js";
import type { IdentityRecord } from "../../src/domain/identity.js";
import type { RatelimitOverrideRecord } from "../../src/domain/ratelimit.js";
import type { MinuteCount } from "../../src/domain/analytics/counts.js";

export const FIXTURE_WORKSPACE = newId("ws", Date.UTC(2026, 0, 1));

export function keyspaceRecord(overrides: Partial<KeyspaceRecord> = {}): KeyspaceRecord {
  const now = new Date();
  return {
    id: newId("ks", now.getTime()),
    workspaceId: FIXTURE_WORKSPACE,
    name: "payments",
    defaultPrefix: "pay",
    defaultByteLength: 16,
    startLength: 4,
    recoverable: false,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export function keyRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const now = new Date();
  const issued = issueSecret("pay", 16, 4);
  return {
    ...KEY_ATTRIBUTE_DEFAULTS,
    id: newId("key", now.getTime()),
    workspaceId: FIXTURE_WORKSPACE,
    keyspaceId: newId("ks", now.getTime()),
    hash: issued.digest,
    prefix: "pay",
    start: issued.start,
    createdBy: "",
    revokedAt: null,
    revokedBy: "",
    revocationReason: "",
    createdAt: now,
    updatedAt: now,
    lastUsedAt: null,
    deletedAt: null,
    ...overrides,
  };
}

export function identityRecord(overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  const now = new Date();
  return {
    id: newId("idt", now.getTime()),
    workspaceId: FIXTURE_WORKSPACE,
    externalId: `user_${newId("idt", now.getTime())}`,
    meta: null,
    rateLimits: [{ name: "api", limit: 10, durationMs: 1000, autoApply: true }],
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export function rootKeyRecord(overrides: Partial<RootKeyRecord> = {}): RootKeyRecord {
  const now = new Date();
  const issued = issueSecret("root", 32, 4);
  return {
    id: newId("rk", now.getTime()),
    workspaceId: FIXTURE_WORKSPACE,
    name: "ci",
    hash: issued.digest,
    start: issued.start,
    permissions: ["key.read"],
    keyspaceIds: [],
    createdBy: "admin",
    replacedBy: "",
    expiresAt: null,
    revokedAt: null,
    createdAt: now,
    ...overrides,
  };
}

/** An override in the "logins" namespace, one window of a second. */
export function overrideRecord(fields: Pick<RatelimitOverrideRecord, "identifier" | "limit"> & Partial<RatelimitOverrideRecord>): RatelimitOverrideRecord {
  return {
    id: `rlov_${fields.identifier}`,
    workspaceId: "ws_a",
    namespace: "logins",
    durationMs: 1000,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...fields,
  };
}

/** What the verifier is asked for a plain VerifyKey of this secret in the workspace: cost 1, no permission query, no limits named. */
export const verifyRequest = (secret: string, workspaceId: string = FIXTURE_WORKSPACE, more: Partial<VerifyRequest> = {}): VerifyRequest => ({
  secret,
  workspaceId,
  requiredScopes: [],
  origin: "",
  cost: 1,
  rateLimitNames: [],
  ...more,
});

/** One group's verifications in one minute, as the analytics recorder hands them to documentsOf: key_one of ks_one, untagged, one valid one spending a credit, unless told otherwise. */
export const minuteCount = (workspaceId: string, minute: number, overrides: Partial<MinuteCount> = {}): MinuteCount => ({
  source: "verification",
  workspaceId,
  keyspaceId: "ks_one",
  keyId: "key_one",
  externalId: "",
  tags: [],
  overflow: false,
  minute,
  outcomes: { valid: 1 },
  credits: 1,
  ...overrides,
});
