import { create } from "@bufbuild/protobuf";
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
} from "../../../gen/latchkey/v1/key_pb.js";
import { creditBalance } from "../../domain/credits.js";
import { invalidArgument } from "../../domain/errors.js";
import { inverse, known, toDate, toTimestamp } from "./scalars.js";
import * as domain from "../../domain/key.js";
import type { RateLimitAlgorithm as RateLimitAlgorithmName } from "../../domain/key-rate-limits.js";

/**
 * Translations between the API's keys and the domain's key records; no rules live here. The int64
 * fields arrive within 2^53 by their proto rules, or (`interval_ms`, which has none) are held to a
 * safe integer by the domain, so they convert to numbers as they are.
 */

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

const keyTypeNames = inverse(KEY_TYPES);
const keyStatusNames = inverse(KEY_STATUSES);
const refillPeriodNames = inverse(REFILL_PERIODS);
const rateLimitAlgorithmNames = inverse(RATE_LIMIT_ALGORITHMS);

/** The fields that Key and VerifyKeyResponse share, under the same names. */
export function keyIdentityToProto(key: domain.KeyRecord) {
  return {
    ...sameOnBothSides(key),
    keyspaceId: key.keyspaceId,
    meta: key.meta ?? undefined,
    claims: key.claims ?? undefined,
    expiresAt: toTimestamp(key.expiresAt),
  };
}

/** The attributes a Key message and a key record hold alike: same names, same values. */
const sameOnBothSides = (from: Pick<domain.KeyAttributes, "name" | "ownerId" | "organizationId" | "externalId" | "permissions" | "roles" | "scopes">) => ({
  name: from.name,
  ownerId: from.ownerId,
  organizationId: from.organizationId,
  externalId: from.externalId,
  permissions: from.permissions,
  roles: from.roles,
  scopes: from.scopes,
});

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
    ...sameOnBothSides(key),
    description: key.description,
    type: key.type === KeyType.UNSPECIFIED ? "standard" : known(keyTypeNames, key.type, `${path}.type`),
    subscriptionId: key.subscriptionId,
    meta: key.meta ?? null,
    claims: key.claims ?? null,
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
          remaining: Number(key.credits.remaining),
          refill: key.credits.refill ? refillFromProto(key.credits.refill, `${path}.credits.refill`) : null,
        }
      : null,
    rateLimits: rateLimitsFromProto(key.rateLimits, path),
  };
}

/** Each limit's current window: how much of it is used, and when it ends. */
export type RateLimitUsage = ReadonlyMap<string, { used: number; endsAt: Date }>;

export const rateLimitsToProto = (limits: domain.RateLimit[], usage?: RateLimitUsage) =>
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

export const rateLimitsFromProto = (limits: RateLimit[], path: string): domain.RateLimit[] =>
  limits.map((limit, i) => ({
    name: limit.name,
    limit: Number(limit.limit),
    durationMs: Number(limit.durationMs),
    autoApply: limit.autoApply,
    ...(limit.algorithm !== RateLimitAlgorithm.UNSPECIFIED && {
      algorithm: known(rateLimitAlgorithmNames, limit.algorithm, `${path}.rate_limits[${i}].algorithm`),
    }),
  }));

export function refillFromProto(refill: CreditRefill, path: string): domain.CreditRefill {
  if (refill.period === RefillPeriod.UNSPECIFIED) throw invalidArgument(`${path}.period`, "must be set");
  return {
    period: known(refillPeriodNames, refill.period, `${path}.period`),
    intervalMs: Number(refill.intervalMs),
    dayOfMonth: refill.dayOfMonth,
    amount: Number(refill.amount),
    lastRefillAt: null,
  };
}

export function keyStatusFromProto(status: KeyStatus, field: string): domain.KeyStatus | undefined {
  return status === KeyStatus.UNSPECIFIED ? undefined : known(keyStatusNames, status, field);
}
