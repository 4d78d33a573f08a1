import { isDeepStrictEqual } from "node:util";
import type { IdentityRecord } from "./identity.js";
import { isExpired, type KeyRecord } from "./key.js";
import { evaluatePermissionQuery, type PermissionQuery } from "./permission-query.js";
import { wildcardMatcher } from "./wildcard.js";

/** Every verdict a verification can reach, in the order the checks run. */
export type Verdict = "valid" | "not_found" | "revoked" | "disabled" | "expired" | "forbidden" | "insufficient_permissions" | "rate_limited" | "usage_exceeded";

export interface AccessRequest {
  /** The verifying root key's workspace: keys of any other answer not_found. */
  workspaceId: string;
  /** When the verifying root key is narrowed to keyspaces: keys elsewhere answer not_found. */
  keyspaceIds?: ReadonlySet<string>;
  keyspaceId?: string;
  permissionQuery?: PermissionQuery;
  requiredScopes: readonly string[];
  resource?: { type: string; id: string; operation: string };
  origin: string;
}

/** A key with its rules compiled once, when it enters the cache, rather than on every verification. */
export interface VerifiableKey {
  record: KeyRecord;
  /** The identity whose external id the key carries, when the workspace has one. */
  identity: IdentityRecord | null;
  /** The key's own permissions and those of its roles, as they were when it was compiled. */
  permissions: string[];
  holdsPermission(permission: string): boolean;
  allowsOrigin(origin: string): boolean;
  allowsResource(type: string, id: string, operation: string): boolean;
}

/**
 * Whether a key read again answers every verification as the compiled one does: the same record
 * but for what its use changes (when it was last used; its credit balance, the shares of it and
 * the last refill), the same identity and the same permissions.
 */
export function answersAlike(compiled: VerifiableKey, read: VerifiableKey): boolean {
  const a = compiled.record;
  const b = read.record;
  const fields = Object.keys(b) as (keyof KeyRecord)[];
  if (fields.length !== Object.keys(a).length) return false;
  for (const field of fields) {
    if (field === "lastUsedAt") continue;
    if (field === "credits" ? !creditTermsAlike(a.credits, b.credits) : !isDeepStrictEqual(a[field], b[field])) return false;
  }
  return isDeepStrictEqual(compiled.permissions, read.permissions) && isDeepStrictEqual(compiled.identity, read.identity);
}

/** Takes onto a compiled key's record what its use changed in the same key read again: the fields `answersAlike` passes over. */
export function takeUse(compiled: VerifiableKey, read: VerifiableKey) {
  compiled.record.lastUsedAt = read.record.lastUsedAt;
  compiled.record.credits = read.record.credits;
}

/** Credits with the same refill terms, whatever their balance, shares and last refill. */
function creditTermsAlike(a: KeyRecord["credits"], b: KeyRecord["credits"]) {
  if (!a || !b) return a === b;
  if (!a.refill || !b.refill) return a.refill === b.refill;
  const { lastRefillAt: _a, ...termsA } = a.refill;
  const { lastRefillAt: _b, ...termsB } = b.refill;
  return isDeepStrictEqual(termsA, termsB);
}

export function compileKey(record: KeyRecord, context: { rolePermissions?: readonly string[]; identity?: IdentityRecord | null } = {}): VerifiableKey {
  const permissions = [...new Set([...record.permissions, ...(context.rolePermissions ?? [])])];
  const exact = new Set(permissions.filter((permission) => !permission.includes("*")));
  const patterns = permissions.filter((permission) => permission.includes("*")).map(wildcardMatcher);
  const origins = record.allowedOrigins.map(originMatcher);
  const resources = record.resourceScopes.map((scope) => ({
    type: scope.resourceType,
    matches: wildcardMatcher(scope.resourceIdPattern),
    operations: new Set(scope.operations),
  }));
  return {
    record,
    identity: context.identity ?? null,
    permissions,
    holdsPermission: (permission) => exact.has(permission) || patterns.some((matches) => matches(permission)),
    allowsOrigin: (origin) => origins.length === 0 || origins.some((matches) => matches(origin)),
    allowsResource: (type, id, operation) =>
      resources.some((scope) => scope.type === type && scope.matches(id) && (scope.operations.has(operation) || scope.operations.has("*"))),
  };
}

/**
 * The checks that need nothing but the key and the clock, in order: workspace and keyspace, deleted, revoked,
 * disabled, expired, origin, permissions, scopes, resource. Returns the first failure, or
 * undefined when the key may go on to rate limits and credits. `digest` is the presented
 * secret's: the key's own, or the previous secret a reroll left it, which expires at the end of
 * its grace period (or with the key, if sooner).
 */
export function checkAccess(key: VerifiableKey, digest: string, request: AccessRequest, now: number): Verdict | undefined {
  const record = key.record;
  const previous = digest === record.hash ? undefined : record.previousSecret;
  if (
    (digest !== record.hash && previous?.hash !== digest) ||
    record.workspaceId !== request.workspaceId ||
    (request.keyspaceIds && !request.keyspaceIds.has(record.keyspaceId)) ||
    record.deletedAt ||
    (request.keyspaceId && request.keyspaceId !== record.keyspaceId)
  ) {
    return "not_found";
  }
  if (record.revokedAt) return "revoked";
  if (!record.enabled) return "disabled";
  if (isExpired(record, now) || (previous && previous.expiresAt.getTime() <= now)) return "expired";
  if (!key.allowsOrigin(request.origin)) return "forbidden";
  if (request.permissionQuery && !evaluatePermissionQuery(request.permissionQuery, key.holdsPermission)) {
    return "insufficient_permissions";
  }
  if (request.requiredScopes.some((scope) => !record.scopes.includes(scope))) return "insufficient_permissions";
  if (request.resource && !key.allowsResource(request.resource.type, request.resource.id, request.resource.operation)) {
    return "insufficient_permissions";
  }
  return undefined;
}

const SUBDOMAIN = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;

/** `https://*.example.com` matches any subdomain at any depth, never the apex or a look-alike domain. */
function originMatcher(allowed: string): (origin: string) => boolean {
  const star = allowed.indexOf("://*.");
  if (star === -1) return (origin) => origin === allowed;
  const scheme = allowed.slice(0, star + 3);
  const suffix = allowed.slice(star + 4);
  return (origin) => origin.startsWith(scheme) && origin.endsWith(suffix) && SUBDOMAIN.test(origin.slice(scheme.length, origin.length - suffix.length));
}
