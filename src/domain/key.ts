import { invalidArgument } from "./errors.js";
import type { RateLimitAlgorithm } from "./key-rate-limits.js";
import { checkCredits, checkJson, checkKeySize, checkOrigin, checkRateLimits, checkResourceScope } from "./key-field-checks.js";
import { PREFIX_DESCRIPTION } from "./keyspace.js";
import { checkPermissionNames, checkRoleNames, PERMISSION, PERMISSION_DESCRIPTION } from "./rbac.js";
import type { SealedSecret } from "./secret-vault.js";
import { PREFIX_PATTERN } from "./secret.js";
import { checkCount, checkEach, checkPattern, unique } from "./validate.js";

export type KeyType = "standard" | "marketplace_subscription";
export type KeyStatus = "active" | "disabled" | "expired" | "revoked";
export type RefillPeriod = "interval" | "daily" | "monthly";
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

export interface CreditRefill {
  period: RefillPeriod;
  intervalMs: number;
  dayOfMonth: number;
  amount: number;
  lastRefillAt: Date | null;
}

export interface Credits {
  /** The balance no instance holds a share of: what exact per-call spending draws on. */
  remaining: number;
  refill: CreditRefill | null;
  /** Shares of the balance held by instances, by holder: see domain/credits.ts. */
  shares?: Record<string, CreditShare>;
}

/** Units of the balance set aside for one instance and not yet claimed by it for spending. */
export interface CreditShare {
  unclaimed: number;
  /** Until then only the holder may claim them; later any instance may return them to the balance. */
  expiresAt: Date;
}

export interface RateLimit {
  name: string;
  limit: number;
  durationMs: number;
  autoApply: boolean;
  /** Absent in limits set before the algorithm was a choice, and when none was asked for: fixed windows. */
  algorithm?: RateLimitAlgorithm;
}

export interface ResourceScope {
  resourceType: string;
  resourceIdPattern: string;
  operations: string[];
}

/** What a caller sets on a key and may later change. */
export interface KeyAttributes {
  name: string;
  description: string;
  ownerId: string;
  organizationId: string;
  externalId: string;
  type: KeyType;
  subscriptionId: string;
  meta: JsonObject | null;
  claims: JsonObject | null;
  permissions: string[];
  roles: string[];
  scopes: string[];
  resourceScopes: ResourceScope[];
  allowedOrigins: string[];
  enabled: boolean;
  expiresAt: Date | null;
  credits: Credits | null;
  rateLimits: RateLimit[];
}

export interface KeyRecord extends KeyAttributes {
  id: string;
  workspaceId: string;
  keyspaceId: string;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  hash: string;
  prefix: string;
  start: string;
  createdBy: string;
  revokedAt: Date | null;
  revokedBy: string;
  revocationReason: string;
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  /** Set by a soft delete: the record and its digest stay so the secret is never issued again. */
  deletedAt: Date | null;
  /** The secret the last reroll replaced: it verifies as this key until `expiresAt`. */
  previousSecret?: PreviousSecret | null;
  /** In a recoverable keyspace, the secret sealed with the operator's key-encryption key. */
  sealedSecret?: SealedSecret | null;
}

export interface PreviousSecret {
  /** SHA-256 of the old secret, hex. */
  hash: string;
  start: string;
  expiresAt: Date;
}

/** A new key's record: its attributes, its secret's digest and display start, and nothing used yet. */
export function newKeyRecord(
  attributes: KeyAttributes,
  identity: Pick<KeyRecord, "id" | "workspaceId" | "keyspaceId" | "hash" | "prefix" | "start" | "createdBy">,
  at: number,
): KeyRecord {
  const createdAt = new Date(at);
  return {
    ...attributes,
    // A refill's first period starts with the key.
    credits: attributes.credits && { ...attributes.credits, refill: attributes.credits.refill && { ...attributes.credits.refill, lastRefillAt: createdAt } },
    ...identity,
    revokedAt: null,
    revokedBy: "",
    revocationReason: "",
    createdAt,
    updatedAt: createdAt,
    lastUsedAt: null,
    deletedAt: null,
  };
}

/** API field names of the attributes, used in error messages and update masks. */
export const KEY_ATTRIBUTE_FIELDS = {
  name: "name",
  description: "description",
  ownerId: "owner_id",
  organizationId: "organization_id",
  externalId: "external_id",
  type: "type",
  subscriptionId: "subscription_id",
  meta: "meta",
  claims: "claims",
  permissions: "permissions",
  roles: "roles",
  scopes: "scopes",
  resourceScopes: "resource_scopes",
  allowedOrigins: "allowed_origins",
  enabled: "enabled",
  expiresAt: "expires_at",
  credits: "credits",
  rateLimits: "rate_limits",
} as const satisfies Record<keyof KeyAttributes, string>;

export const KEY_ATTRIBUTE_DEFAULTS: KeyAttributes = {
  name: "",
  description: "",
  ownerId: "",
  organizationId: "",
  externalId: "",
  type: "standard",
  subscriptionId: "",
  meta: null,
  claims: null,
  permissions: [],
  roles: [],
  scopes: [],
  resourceScopes: [],
  allowedOrigins: [],
  enabled: true,
  expiresAt: null,
  credits: null,
  rateLimits: [],
};

export const isExpired = (key: Pick<KeyRecord, "expiresAt">, now: number) => key.expiresAt !== null && key.expiresAt.getTime() <= now;

/** Revocation outranks disabling, which outranks expiry: the order verification checks them in. */
export function keyStatus(key: Pick<KeyRecord, "revokedAt" | "enabled" | "expiresAt">, now: number): KeyStatus {
  if (key.revokedAt) return "revoked";
  if (!key.enabled) return "disabled";
  if (isExpired(key, now)) return "expired";
  return "active";
}

export interface KeyValidationOptions {
  now: number;
  /** Attributes the request sets; time-dependent rules apply only to those. */
  changed: ReadonlySet<keyof KeyAttributes>;
  path?: string;
}

/**
 * Validates a whole set of attributes and returns them normalized (repeats dropped from lists).
 * Plain lengths and bounds are the proto's rules (key.proto), checked before a request reaches the domain.
 */
export function validateKeyAttributes(attributes: KeyAttributes, options: KeyValidationOptions): KeyAttributes {
  const path = options.path ?? "key";
  const field = (name: keyof KeyAttributes) => `${path}.${KEY_ATTRIBUTE_FIELDS[name]}`;
  const a = attributes;

  if (a.type === "marketplace_subscription" && !a.subscriptionId) {
    throw invalidArgument(field("subscriptionId"), "is required for KEY_TYPE_MARKETPLACE_SUBSCRIPTION");
  }
  if (a.type === "standard" && a.subscriptionId) {
    throw invalidArgument(field("subscriptionId"), "is only allowed for KEY_TYPE_MARKETPLACE_SUBSCRIPTION");
  }
  checkJson(field("meta"), a.meta);
  checkJson(field("claims"), a.claims);
  checkPermissionNames(field("permissions"), a.permissions);
  checkRoleNames(field("roles"), a.roles);
  checkEach(field("scopes"), a.scopes, 100, PERMISSION, PERMISSION_DESCRIPTION);
  checkCount(field("resourceScopes"), a.resourceScopes, 100);
  a.resourceScopes.forEach((scope, i) => checkResourceScope(`${field("resourceScopes")}[${i}]`, scope));
  checkCount(field("allowedOrigins"), a.allowedOrigins, 100);
  a.allowedOrigins.forEach((origin, i) => checkOrigin(`${field("allowedOrigins")}[${i}]`, origin));
  if (a.expiresAt && options.changed.has("expiresAt") && a.expiresAt.getTime() <= options.now) {
    throw invalidArgument(field("expiresAt"), "must be in the future");
  }
  if (a.credits) checkCredits(field("credits"), a.credits);
  checkRateLimits(field("rateLimits"), a.rateLimits);
  checkKeySize(path, a);

  return {
    ...a,
    permissions: unique(a.permissions),
    roles: unique(a.roles),
    scopes: unique(a.scopes),
    allowedOrigins: unique(a.allowedOrigins),
    resourceScopes: a.resourceScopes.map((s) => ({ ...s, operations: unique(s.operations) })),
  };
}

export const validateKeyPrefix = (field: string, prefix: string) => checkPattern(field, prefix, PREFIX_PATTERN, PREFIX_DESCRIPTION);

export const ALL_KEY_ATTRIBUTES: ReadonlySet<keyof KeyAttributes> = new Set(Object.keys(KEY_ATTRIBUTE_FIELDS) as (keyof KeyAttributes)[]);
