import { DomainError, invalidArgument } from "./errors.js";
import { checkCount, checkName, unique } from "./validate.js";

/** What a root key may do. The names are the API's: they appear in PERMISSION_DENIED messages. */
export const MANAGEMENT_PERMISSIONS = [
  "workspace.read",
  "workspace.update",
  "keyspace.create",
  "keyspace.read",
  "keyspace.update",
  "keyspace.delete",
  "key.create",
  "key.read",
  "key.update",
  "key.delete",
  "key.verify",
  "key.decrypt",
  "identity.create",
  "identity.read",
  "identity.update",
  "identity.delete",
  "rbac.read",
  "rbac.manage",
  "audit.read",
  "analytics.read",
  "root_key.manage",
  "ratelimit.limit",
  "ratelimit.manage",
] as const;

export type ManagementPermission = (typeof MANAGEMENT_PERMISSIONS)[number];

export interface RootKeyRecord {
  id: string;
  workspaceId: string;
  name: string;
  /** SHA-256 of the secret, hex; the secret itself is never stored. */
  hash: string;
  start: string;
  permissions: ManagementPermission[];
  /** Empty: every keyspace of the workspace. */
  keyspaceIds: string[];
  createdBy: string;
  replacedBy: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** Who is calling, as far as authorization cares. */
export interface Caller {
  /** The root key's id, or ADMIN_ACTOR. */
  actor: string;
  workspaceId: string;
  permissions: ReadonlySet<ManagementPermission>;
  /** Undefined: every keyspace. */
  keyspaceIds: ReadonlySet<string> | undefined;
}

export const ADMIN_ACTOR = "admin";
export const ROOT_KEY_PREFIX = "root";

export const callerOf = (rootKey: RootKeyRecord): Caller => ({
  actor: rootKey.id,
  workspaceId: rootKey.workspaceId,
  permissions: new Set(rootKey.permissions),
  keyspaceIds: rootKey.keyspaceIds.length > 0 ? new Set(rootKey.keyspaceIds) : undefined,
});

export const rootKeyUsable = (rootKey: RootKeyRecord, now: number) => !rootKey.revokedAt && (!rootKey.expiresAt || rootKey.expiresAt.getTime() > now);

/**
 * Permissions over what the whole workspace shares: identities (their meta and limits reach every
 * key linked to them), roles and permissions (held by keys of every keyspace), the workspace's
 * settings and its audit log, rate-limit namespaces (any identifier, no keyspace). A root key narrowed to keyspaces never uses or grants them.
 */
export const WORKSPACE_WIDE: ReadonlySet<ManagementPermission> = new Set<ManagementPermission>([
  "identity.create",
  "identity.read",
  "identity.update",
  "identity.delete",
  "rbac.manage",
  "workspace.update",
  "audit.read",
  "ratelimit.limit",
  "ratelimit.manage",
]);

export class PermissionDenied extends DomainError {
  constructor(readonly permission: ManagementPermission) {
    super("permission_denied", `this root key lacks the permission ${permission}`, { metadata: { permission } });
  }
}

/** A root key narrowed to keyspaces asked for something beyond them. */
export const beyondKeyspaces = (what: string, metadata: Record<string, string> = {}) =>
  new DomainError("permission_denied", `this root key is narrowed to keyspaces and cannot ${what}`, { reason: "KEYSPACE_NOT_GRANTED", metadata });

/** Why the caller may not use a permission, or undefined when it may. */
export function permissionDenial(caller: Caller, permission: ManagementPermission): DomainError | undefined {
  if (!caller.permissions.has(permission)) return new PermissionDenied(permission);
  if (caller.keyspaceIds && WORKSPACE_WIDE.has(permission)) return beyondKeyspaces(`use the workspace-wide permission ${permission}`, { permission });
  return undefined;
}

export function requirePermission(caller: Caller, permission: ManagementPermission): void {
  const denial = permissionDenial(caller, permission);
  if (denial) throw denial;
}

/**
 * Whether the caller may see a keyspace at all. A keyspace outside its narrowing is, to the
 * caller, one that does not exist.
 */
export const reachesKeyspace = (caller: Caller, keyspaceId: string) => !caller.keyspaceIds || caller.keyspaceIds.has(keyspaceId);

export interface RootKeyGrant {
  permissions: string[];
  keyspaceIds: string[];
}

/**
 * How many entries a root key's permission list may have: each permission once, as a list of
 * every permission has. A longer list can only repeat names.
 */
export const MAX_ROOT_KEY_PERMISSIONS = MANAGEMENT_PERMISSIONS.length;

/**
 * Validates what a new root key asks for and refuses anything the granting caller could not grant.
 * A permission the caller may not use is PERMISSION_DENIED naming it, before the question whether a
 * narrowed root key may hold it: a narrowed caller never holds a workspace-wide permission.
 */
export function checkGrant(caller: Caller, grant: RootKeyGrant, path = "root_key"): RootKeyGrant & { permissions: ManagementPermission[] } {
  if (grant.permissions.length === 0) throw invalidArgument(`${path}.permissions`, "must name at least one permission");
  checkCount(`${path}.permissions`, grant.permissions, MAX_ROOT_KEY_PERMISSIONS);
  checkCount(`${path}.keyspace_ids`, grant.keyspaceIds, 100);
  grant.permissions.forEach((permission, i) => {
    if (!(MANAGEMENT_PERMISSIONS as readonly string[]).includes(permission)) {
      throw invalidArgument(`${path}.permissions[${i}]`, "is not a management permission");
    }
  });
  const checked = { permissions: unique(grant.permissions) as ManagementPermission[], keyspaceIds: unique(grant.keyspaceIds) };
  for (const permission of checked.permissions) requirePermission(caller, permission);
  grant.permissions.forEach((permission, i) => {
    if (grant.keyspaceIds.length > 0 && WORKSPACE_WIDE.has(permission as ManagementPermission)) {
      throw invalidArgument(`${path}.permissions[${i}]`, `is ${permission}, which is workspace-wide. A root key narrowed to keyspaces cannot hold it`);
    }
  });
  requireManageable(caller, checked);
  return checked;
}

/**
 * Refuses a root key the caller could not have granted: one holding a permission the caller may
 * not use, or, from a caller narrowed to keyspaces, one not narrowed within them. Only the root
 * keys it could grant may a caller see, rotate or revoke.
 */
export function requireManageable(caller: Caller, rootKey: RootKeyGrant): void {
  for (const permission of rootKey.permissions) requirePermission(caller, permission as ManagementPermission);
  if (caller.keyspaceIds && (rootKey.keyspaceIds.length === 0 || rootKey.keyspaceIds.some((id) => !caller.keyspaceIds!.has(id)))) {
    throw beyondKeyspaces("grant or manage root keys beyond its keyspaces");
  }
}

export function mayManage(caller: Caller, rootKey: RootKeyGrant): boolean {
  try {
    requireManageable(caller, rootKey);
    return true;
  } catch (error) {
    if (error instanceof DomainError) return false;
    throw error;
  }
}

export function validateRootKeyName(name: string, path = "root_key.name") {
  checkName(path, name);
}
