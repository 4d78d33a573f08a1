import { invalidArgument } from "./errors.js";
import type { SealedSecret } from "./secret-vault.js";
import { PREFIX_PATTERN } from "./secret.js";
import { PREFIX_DESCRIPTION } from "./keyspace.js";
import { checkPermissionNames, checkRoleNames, PERMISSION, PERMISSION_DESCRIPTION } from "./rbac.js";
import { checkCount, checkEach, checkPattern, checkRange, unique } from "./validate.js";
import { MIN_RATE_LIMIT_WINDOW_MS } from "./fixed-window.js";
import type { RateLimitAlgorithm } from "./key-rate-limits.js";

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

export const MAX_JSON_BYTES = 16 * 1024;
export const MIN_REFILL_INTERVAL_MS = 1000;
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

const RESOURCE_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
const RESOURCE_ID_PATTERN = /^\S{1,256}$/;
const RATE_LIMIT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface KeyValidationOptions {
  now: number;
  /** Attributes the request sets; time-dependent rules apply only to those. */
  changed: ReadonlySet<keyof KeyAttributes>;
  path?: string;
}

/**
 * Validates a whole set of attributes and returns them normalized (repeats dropped from lists).
 * Plain lengths are the proto's rules (key.proto), checked before a request reaches the domain.
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

/**
 * A key, everything it holds (permissions, scopes, resource scopes, origins, meta, claims), at most
 * this many bytes as JSON: every instance caches keys in memory, and each field's own limit allows
 * far more in sum.
 */
export const MAX_KEY_BYTES = 64 * 1024;

export function checkKeySize(path: string, attributes: Partial<KeyAttributes>) {
  const bytes = Buffer.byteLength(JSON.stringify(attributes));
  if (bytes > MAX_KEY_BYTES) throw invalidArgument(path, `must be at most ${MAX_KEY_BYTES} bytes as JSON with everything it holds, not ${bytes}`);
}

/** MongoDB refuses documents nested past 100 levels; metadata this deep is a mistake or an attack. */
export const MAX_JSON_DEPTH = 32;

export function checkJson(field: string, value: JsonObject | null) {
  if (!value) return;
  if (depthOf(value) > MAX_JSON_DEPTH) throw invalidArgument(field, `must be nested at most ${MAX_JSON_DEPTH} levels deep`);
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_JSON_BYTES) throw invalidArgument(field, `must be at most ${MAX_JSON_BYTES} bytes as JSON`);
}

/** How many objects and arrays deep a JSON value goes, counted without recursion so no depth can overflow the stack. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [next, depth] = pending.pop()!;
    if (typeof next !== "object" || next === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > MAX_JSON_DEPTH) break;
    for (const child of Object.values(next)) pending.push([child, depth + 1]);
  }
  return deepest;
}

function checkResourceScope(field: string, scope: ResourceScope) {
  checkPattern(`${field}.resource_type`, scope.resourceType, RESOURCE_TYPE, "1 to 64 characters of a-z and 0-9 and underscore starting with a letter");
  checkPattern(`${field}.resource_id_pattern`, scope.resourceIdPattern, RESOURCE_ID_PATTERN, "1 to 256 characters without spaces");
  if (scope.operations.length === 0) throw invalidArgument(`${field}.operations`, "must not be empty");
  checkEach(`${field}.operations`, scope.operations, 32, PERMISSION, PERMISSION_DESCRIPTION);
}

const WILDCARD_ORIGIN = /^(https?):\/\/\*\.(.+)$/;
const HOSTNAME = /^(?:[a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/;

/** Accepts `scheme://host[:port]` exactly as a browser sends it, or `scheme://*.domain[:port]`. */
export function checkOrigin(field: string, origin: string) {
  const wildcard = WILDCARD_ORIGIN.exec(origin);
  const candidate = wildcard ? `${wildcard[1]}://x.${wildcard[2]}` : origin;
  let parsed: URL | undefined;
  try {
    parsed = new URL(candidate);
  } catch {
    parsed = undefined;
  }
  const valid =
    parsed !== undefined &&
    ["http:", "https:"].includes(parsed.protocol) &&
    parsed.origin === candidate &&
    HOSTNAME.test(parsed.hostname) &&
    (!wildcard || parsed.hostname.split(".").length >= 3);
  if (!valid) {
    throw invalidArgument(field, "must be an http or https origin with no path or a wildcard subdomain origin");
  }
}

function checkCredits(field: string, credits: Credits) {
  if (credits.refill) checkRefill(`${field}.refill`, credits.refill);
}

export function checkRefill(refillField: string, refill: CreditRefill) {
  if (refill.period === "interval") {
    checkRange(`${refillField}.interval_ms`, refill.intervalMs, MIN_REFILL_INTERVAL_MS, MAX_COUNT);
  } else if (refill.intervalMs !== 0) {
    throw invalidArgument(`${refillField}.interval_ms`, "is only allowed with REFILL_PERIOD_INTERVAL");
  }
  if (refill.period === "monthly") {
    checkRange(`${refillField}.day_of_month`, refill.dayOfMonth, 1, 31);
  } else if (refill.dayOfMonth !== 0) {
    throw invalidArgument(`${refillField}.day_of_month`, "is only allowed with REFILL_PERIOD_MONTHLY");
  }
}

export function checkRateLimits(field: string, limits: RateLimit[]) {
  checkCount(field, limits, 20);
  const names = new Set<string>();
  limits.forEach((limit, i) => {
    const at = `${field}[${i}]`;
    checkPattern(`${at}.name`, limit.name, RATE_LIMIT_NAME, "1 to 64 letters or digits or the characters dot underscore hyphen");
    if (names.has(limit.name)) throw invalidArgument(`${at}.name`, "repeats another rate limit's name");
    if (limit.durationMs < MIN_RATE_LIMIT_WINDOW_MS) throw invalidArgument(`${at}.duration_ms`, `must be at least ${MIN_RATE_LIMIT_WINDOW_MS}`);
    names.add(limit.name);
  });
}

export const ALL_KEY_ATTRIBUTES: ReadonlySet<keyof KeyAttributes> = new Set(Object.keys(KEY_ATTRIBUTE_FIELDS) as (keyof KeyAttributes)[]);
