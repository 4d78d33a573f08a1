import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type CreditRefill,
  CreditRefillSchema,
  CreditsSchema,
  type Key,
  KeySchema,
  KeyStatus,
  KeyType,
  PreviousSecretSchema,
  type RateLimit,
  RateLimitAlgorithm,
  RateLimitSchema,
  RefillPeriod,
  ResourceScopeSchema,
} from "../../gen/latchkey/v1/key_pb.js";
import { type AuditEvent, AuditEventSchema } from "../../gen/latchkey/v1/audit_pb.js";
import { type Identity, IdentitySchema } from "../../gen/latchkey/v1/identity_pb.js";
import { type Keyspace, KeyspaceSchema } from "../../gen/latchkey/v1/keyspace_pb.js";
import { type Permission, PermissionSchema, type Role, RoleSchema } from "../../gen/latchkey/v1/rbac_pb.js";
import { type RootKey, RootKeySchema } from "../../gen/latchkey/v1/root_key_pb.js";
import { type Workspace, WorkspaceSchema } from "../../gen/latchkey/v1/workspace_pb.js";
import type { RootKeyRecord } from "../domain/access.js";
import type { AuditEventRecord } from "../domain/audit.js";
import type { IdentityRecord, IdentitySettings } from "../domain/identity.js";
import type { PermissionRecord, RoleRecord } from "../domain/rbac.js";
import type { WorkspaceRecord } from "../domain/workspace.js";
import { creditBalance } from "../domain/credits.js";
import { invalidArgument } from "../domain/errors.js";
import * as domain from "../domain/key.js";
import type { RateLimitAlgorithm as RateLimitAlgorithmName } from "../domain/rate-limiter.js";
import type { KeyspaceRecord, KeyspaceSettings } from "../domain/keyspace.js";

/** Translations between the API's messages and the domain's records; no rules live here. */

const KEY_TYPES: Record<domain.KeyType, KeyType> = {
  standard: KeyType.STANDARD,
  marketplace_subscription: KeyType.MARKETPLACE_SUBSCRIPTION,
};

const KEY_STATUSES: Record<domain.KeyStatus, KeyStatus> = {
  active: KeyStatus.ACTIVE,
  disabled: KeyStatus.DISABLED,
  expired: KeyStatus.EXPIRED,
  revoked: KeyStatus.REVOKED,
};

const RATE_LIMIT_ALGORITHMS: Record<RateLimitAlgorithmName, RateLimitAlgorithm> = {
  fixed_window: RateLimitAlgorithm.FIXED_WINDOW,
  sliding_window: RateLimitAlgorithm.SLIDING_WINDOW,
};

const REFILL_PERIODS: Record<domain.RefillPeriod, RefillPeriod> = {
  interval: RefillPeriod.INTERVAL,
  daily: RefillPeriod.DAILY,
  monthly: RefillPeriod.MONTHLY,
};

const inverse = <K extends string, V extends number>(map: Record<K, V>) =>
  new Map(Object.entries(map).map(([name, value]) => [value as V, name as K]));
const keyTypeNames = inverse(KEY_TYPES);
const keyStatusNames = inverse(KEY_STATUSES);
const refillPeriodNames = inverse(REFILL_PERIODS);
const rateLimitAlgorithmNames = inverse(RATE_LIMIT_ALGORITHMS);

const toTimestamp = (date: Date | null) => (date ? timestampFromDate(date) : undefined);
/** Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range a Timestamp may hold. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/** A request's time as a Date; a Timestamp outside its defined range is refused, naming the field. */
export function toDate(timestamp: Timestamp | undefined, field: string): Date | null {
  if (!timestamp) return null;
  if (timestamp.seconds < MIN_SECONDS || timestamp.seconds > MAX_SECONDS || timestamp.nanos < 0 || timestamp.nanos > 999_999_999) {
    throw invalidArgument(field, "must be a time from year 1 to year 9999 with nanos from 0 to 999999999");
  }
  return timestampDate(timestamp);
}

/** The fields that Key and VerifyKeyResponse share, under the same names. */
export function keyIdentityToProto(key: domain.KeyRecord) {
  return {
    keyspaceId: key.keyspaceId,
    name: key.name,
    ownerId: key.ownerId,
    organizationId: key.organizationId,
    externalId: key.externalId,
    meta: key.meta ?? undefined,
    claims: key.claims ?? undefined,
    permissions: key.permissions,
    roles: key.roles,
    scopes: key.scopes,
    expiresAt: toTimestamp(key.expiresAt),
  };
}

export function keyToProto(key: domain.KeyRecord, now: number, plaintext = "", usage?: RateLimitUsage): Key {
  return create(KeySchema, {
    ...keyIdentityToProto(key),
    id: key.id,
    description: key.description,
    createdBy: key.createdBy,
    type: KEY_TYPES[key.type],
    subscriptionId: key.subscriptionId,
    prefix: key.prefix,
    start: key.start,
    resourceScopes: key.resourceScopes.map((scope) => create(ResourceScopeSchema, scope)),
    allowedOrigins: key.allowedOrigins,
    enabled: key.enabled,
    revokedAt: toTimestamp(key.revokedAt),
    revokedBy: key.revokedBy,
    revocationReason: key.revocationReason,
    createdAt: toTimestamp(key.createdAt),
    updatedAt: toTimestamp(key.updatedAt),
    lastUsedAt: toTimestamp(key.lastUsedAt),
    credits: key.credits
      ? create(CreditsSchema, {
          remaining: BigInt(creditBalance(key.credits)),
          refill: key.credits.refill
            ? create(CreditRefillSchema, {
                period: REFILL_PERIODS[key.credits.refill.period],
                intervalMs: BigInt(key.credits.refill.intervalMs),
                dayOfMonth: key.credits.refill.dayOfMonth,
                amount: BigInt(key.credits.refill.amount),
                lastRefillAt: toTimestamp(key.credits.refill.lastRefillAt),
              })
            : undefined,
        })
      : undefined,
    rateLimits: rateLimitsToProto(key.rateLimits, usage),
    status: KEY_STATUSES[domain.keyStatus(key, now)],
    expired: domain.isExpired(key, now),
    previousSecret: key.previousSecret
      ? create(PreviousSecretSchema, { start: key.previousSecret.start, expiresAt: toTimestamp(key.previousSecret.expiresAt) })
      : undefined,
    plaintext,
    recoverable: Boolean(key.sealedSecret),
    keyHash: key.hash,
  });
}

/** Every caller-settable attribute of a Key message; unset fields take their defaults. */
export function keyAttributesFromProto(key: Key, path = "key"): domain.KeyAttributes {
  return {
    name: key.name,
    description: key.description,
    ownerId: key.ownerId,
    organizationId: key.organizationId,
    externalId: key.externalId,
    type: key.type === KeyType.UNSPECIFIED ? "standard" : known(keyTypeNames, key.type, `${path}.type`),
    subscriptionId: key.subscriptionId,
    meta: key.meta ?? null,
    claims: key.claims ?? null,
    permissions: key.permissions,
    roles: key.roles,
    scopes: key.scopes,
    resourceScopes: key.resourceScopes.map(({ resourceType, resourceIdPattern, operations }) => ({
      resourceType,
      resourceIdPattern,
      operations,
    })),
    allowedOrigins: key.allowedOrigins,
    enabled: key.enabled ?? true,
    expiresAt: toDate(key.expiresAt, `${path}.expires_at`),
    credits: key.credits
      ? {
          remaining: toSafeNumber(key.credits.remaining, `${path}.credits.remaining`),
          refill: key.credits.refill ? refillFromProto(key.credits.refill, `${path}.credits.refill`) : null,
        }
      : null,
    rateLimits: rateLimitsFromProto(key.rateLimits, path),
  };
}

/** Each limit's current window: how much of it is used, and when it ends. */
export type RateLimitUsage = ReadonlyMap<string, { used: number; endsAt: Date }>;

const rateLimitsToProto = (limits: domain.RateLimit[], usage?: RateLimitUsage) =>
  limits.map((limit) => {
    const window = usage?.get(limit.name);
    return create(RateLimitSchema, {
      ...limit,
      limit: BigInt(limit.limit),
      durationMs: BigInt(limit.durationMs),
      algorithm: RATE_LIMIT_ALGORITHMS[limit.algorithm ?? "fixed_window"],
      ...(window && { used: BigInt(window.used), windowEndsAt: toTimestamp(window.endsAt) }),
    });
  });

const rateLimitsFromProto = (limits: RateLimit[], path: string): domain.RateLimit[] =>
  limits.map((limit, i) => ({
    name: limit.name,
    limit: toSafeNumber(limit.limit, `${path}.rate_limits[${i}].limit`),
    durationMs: toSafeNumber(limit.durationMs, `${path}.rate_limits[${i}].duration_ms`),
    autoApply: limit.autoApply,
    ...(limit.algorithm !== RateLimitAlgorithm.UNSPECIFIED && {
      algorithm: known(rateLimitAlgorithmNames, limit.algorithm, `${path}.rate_limits[${i}].algorithm`),
    }),
  }));

export function refillFromProto(refill: CreditRefill, path: string): domain.CreditRefill {
  if (refill.period === RefillPeriod.UNSPECIFIED) throw invalidArgument(`${path}.period`, "must be set");
  return {
    period: known(refillPeriodNames, refill.period, `${path}.period`),
    intervalMs: toSafeNumber(refill.intervalMs, `${path}.interval_ms`),
    dayOfMonth: refill.dayOfMonth,
    amount: toSafeNumber(refill.amount, `${path}.amount`),
    lastRefillAt: null,
  };
}

export function keyStatusFromProto(status: KeyStatus, field: string): domain.KeyStatus | undefined {
  return status === KeyStatus.UNSPECIFIED ? undefined : known(keyStatusNames, status, field);
}

export function keyspaceToProto(keyspace: KeyspaceRecord): Keyspace {
  return create(KeyspaceSchema, {
    id: keyspace.id,
    name: keyspace.name,
    defaultPrefix: keyspace.defaultPrefix,
    defaultByteLength: keyspace.defaultByteLength,
    startLength: keyspace.startLength,
    recoverable: keyspace.recoverable ?? false,
    createdAt: timestampFromDate(keyspace.createdAt),
    updatedAt: timestampFromDate(keyspace.updatedAt),
  });
}

export function keyspaceSettingsFromProto(keyspace: Keyspace): Partial<KeyspaceSettings> {
  return {
    name: keyspace.name,
    defaultPrefix: keyspace.defaultPrefix,
    defaultByteLength: keyspace.defaultByteLength,
    startLength: keyspace.startLength,
    recoverable: keyspace.recoverable,
  };
}

export const workspaceToProto = (workspace: WorkspaceRecord): Workspace =>
  create(WorkspaceSchema, { id: workspace.id, name: workspace.name, createdAt: toTimestamp(workspace.createdAt), updatedAt: toTimestamp(workspace.updatedAt) });

export const rootKeyToProto = (rootKey: RootKeyRecord): RootKey =>
  create(RootKeySchema, {
    id: rootKey.id,
    name: rootKey.name,
    start: rootKey.start,
    permissions: rootKey.permissions,
    keyspaceIds: rootKey.keyspaceIds,
    createdBy: rootKey.createdBy,
    replacedBy: rootKey.replacedBy,
    expiresAt: toTimestamp(rootKey.expiresAt),
    revokedAt: toTimestamp(rootKey.revokedAt),
    createdAt: toTimestamp(rootKey.createdAt),
  });

export const identityToProto = (identity: IdentityRecord): Identity =>
  create(IdentitySchema, {
    id: identity.id,
    externalId: identity.externalId,
    meta: identity.meta ?? undefined,
    rateLimits: rateLimitsToProto(identity.rateLimits),
    createdAt: toTimestamp(identity.createdAt),
    updatedAt: toTimestamp(identity.updatedAt),
  });

export const identitySettingsFromProto = (identity: Identity, path = "identity"): IdentitySettings => ({
  meta: identity.meta ?? null,
  rateLimits: rateLimitsFromProto(identity.rateLimits, path),
});

export const permissionToProto = (permission: PermissionRecord): Permission =>
  create(PermissionSchema, { id: permission.id, name: permission.name, description: permission.description, createdAt: toTimestamp(permission.createdAt) });

export const roleToProto = (role: RoleRecord): Role =>
  create(RoleSchema, {
    id: role.id,
    name: role.name,
    description: role.description,
    permissions: role.permissions,
    createdAt: toTimestamp(role.createdAt),
    updatedAt: toTimestamp(role.updatedAt),
  });

export const auditEventToProto = (event: AuditEventRecord): AuditEvent =>
  create(AuditEventSchema, {
    id: event.id,
    time: toTimestamp(event.at),
    actor: event.actor,
    action: event.action,
    targetIds: event.targetIds,
    summary: event.summary,
    peerAddress: event.peerAddress,
    userAgent: event.userAgent,
    outcome: event.outcome,
  });


function known<T>(names: Map<number, T>, value: number, field: string): T {
  const name = names.get(value);
  if (name === undefined) throw invalidArgument(field, `has unknown value ${value}`);
  return name;
}

/** int64 fields arrive as bigint; anything beyond 2^53 cannot be counted exactly and is refused. */
export function toSafeNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalidArgument(field, "is out of range");
  }
  return Number(value);
}
