import type { AnalyticsStore } from "./analytics/index.js";
import type { AuditLog } from "./audit/index.js";
import type { ChangeLog } from "./changes/index.js";
import type { CreditStore } from "./credits/index.js";
import type { IdempotencyStore } from "./idempotency/index.js";
import type { DigestSource, KeyStore, KeyUseRecorder, SealedSecretStore } from "./keys/index.js";
import type { RateLimitWindowStore } from "./rate-limit-windows/index.js";
import type { RatelimitStore } from "./ratelimits/index.js";
import type { RbacStore } from "./rbac/index.js";
import type { IdentityTables, KeyspaceTables, WorkspaceTables } from "./tables/index.js";

export type { AnalyticsStore } from "./analytics/index.js";
export type { AuditLog } from "./audit/index.js";
export type { ChangeLog, KeyChange, KeyChangeTarget } from "./changes/index.js";
export type { CreditStore } from "./credits/index.js";
export type { IdempotencyStore } from "./idempotency/index.js";
export type { DigestSource, KeyFilter, KeyGuard, KeyLookup, KeyStore, KeyUse, KeyUseRecorder, SealedSecretStore } from "./keys/index.js";
export type { RateLimitWindow, RateLimitWindowStore } from "./rate-limit-windows/index.js";
export type { RatelimitStore } from "./ratelimits/index.js";
export type { RbacStore } from "./rbac/index.js";
export type { IdentityTables, KeyspaceTables, Match, Page, RecordTable, WorkspaceTables } from "./tables/index.js";

/** What every store says about itself and how it is run. */
export interface StoreLifecycle {
  /** Says in logs and test output which storage is in use. */
  readonly description: string;
  /** Fails when the store cannot serve; repairs what it can on the way (MongoDB's missing indexes). Run at start and periodically. */
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Everything latchkey keeps: each capability's interface, in one object. Each method is one
 * single-document atomic operation (or a read), except the two that sweep many records
 * (deleteKeysInKeyspace, removeGrantEverywhere): those are atomic per document and safe to repeat.
 * So an adapter needs no transactions; the contract suites in test/store (one per capability)
 * hold every adapter to it. Records come back as copies: changing one never changes what is stored.
 * A consumer that needs one capability takes that capability's interface, not the Store.
 */
export interface Store
  extends StoreLifecycle,
    WorkspaceTables,
    KeyspaceTables,
    IdentityTables,
    RbacStore,
    IdempotencyStore,
    KeyStore,
    KeyUseRecorder,
    DigestSource,
    SealedSecretStore,
    CreditStore,
    RateLimitWindowStore,
    ChangeLog,
    AuditLog {
  /** Rate limiting as a service: namespaces, overrides and sliding-window counters. */
  readonly ratelimits: RatelimitStore;
  /** Usage counts (verifications by minute, key, outcome, tags…), rolled up; see analytics/index.ts. */
  readonly analytics: AnalyticsStore;
}

/**
 * The base class of an adapter made of one part per capability: its instances are the parts,
 * merged into one object, so every method keeps its name (`findKeyByHash`, `keyspaces.find`).
 */
export const ComposedStore = class {
  constructor(parts: Store) {
    Object.assign(this, parts);
  }
} as new (
  parts: Store,
) => Store;
