import { KEY_ATTRIBUTE_DEFAULTS, type KeyRecord } from "../../src/domain/key.js";
import type { KeyspaceRecord } from "../../src/domain/keyspace.js";
import { newId } from "../../src/domain/ids.js";
import { issueSecret } from "../../src/domain/secret.js";

export function keyspaceRecord(overrides: Partial<KeyspaceRecord> = {}): KeyspaceRecord {
  const now = new Date();
  return {
    id: newId("ks", now.getTime()),
    name: "payments",
    defaultPrefix: "pay",
    defaultByteLength: 16,
    startLength: 4,
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
