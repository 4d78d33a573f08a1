import { DomainError, invalidArgument } from "./errors.js";
import { checkCount, checkLength, unique } from "./validate.js";

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
  "identity.create",
  "identity.read",
  "identity.update",
  "identity.delete",
  "rbac.read",
  "rbac.manage",
  "audit.read",
  "root_key.manage",
] as const;

export type ManagementPermission = (typeof MANAGEMENT_PERMISSIONS)[number];

/** The permissions a root key narrowed to keyspaces holds only in those keyspaces: all on keys, and all on existing keyspaces. */
const KEYSPACE_BOUND: ReadonlySet<ManagementPermission> = new Set(
  MANAGEMENT_PERMISSIONS.filter((permission) => permission.startsWith("key.") || (permission.startsWith("keyspace.") && permission !== "keyspace.create")),
);

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

export const rootKeyUsable = (rootKey: RootKeyRecord, now: number) =>
  !rootKey.revokedAt && (!rootKey.expiresAt || rootKey.expiresAt.getTime() > now);

export class PermissionDenied extends DomainError {
  constructor(readonly permission: ManagementPermission) {
    super("permission_denied", `this root key lacks the permission ${permission}`, { metadata: { permission } });
  }
}

export function requirePermission(caller: Caller, permission: ManagementPermission): void {
  if (!caller.permissions.has(permission)) throw new PermissionDenied(permission);
}

/**
 * Whether the caller may see a keyspace at all. A keyspace outside its narrowing is, to the
 * caller, one that does not exist.
 */
export const reachesKeyspace = (caller: Caller, keyspaceId: string) =>
  !caller.keyspaceIds || caller.keyspaceIds.has(keyspaceId);

export interface RootKeyGrant {
  permissions: string[];
  keyspaceIds: string[];
}

/** Validates what a new root key asks for and refuses anything the granting caller does not hold. */
export function checkGrant(caller: Caller, grant: RootKeyGrant, path = "root_key"): RootKeyGrant & { permissions: ManagementPermission[] } {
  if (grant.permissions.length === 0) throw invalidArgument(`${path}.permissions`, "must name at least one permission");
  checkCount(`${path}.keyspace_ids`, grant.keyspaceIds, 100);
  grant.permissions.forEach((permission, i) => {
    if (!(MANAGEMENT_PERMISSIONS as readonly string[]).includes(permission)) {
      throw invalidArgument(`${path}.permissions[${i}]`, "is not a management permission");
    }
    if (!caller.permissions.has(permission as ManagementPermission)) throw new PermissionDenied(permission as ManagementPermission);
  });
  const permissions = unique(grant.permissions) as ManagementPermission[];
  const keyspaceIds = unique(grant.keyspaceIds);
  if (caller.keyspaceIds && permissions.some((permission) => KEYSPACE_BOUND.has(permission))) {
    if (keyspaceIds.length === 0 || keyspaceIds.some((id) => !caller.keyspaceIds!.has(id))) {
      throw new DomainError("permission_denied", "this root key may only grant keyspaces it is narrowed to", { reason: "KEYSPACE_NOT_GRANTED" });
    }
  }
  return { permissions, keyspaceIds };
}

/** Whether the caller could have granted this root key: only such root keys may it see, rotate or revoke. */
export function mayManage(caller: Caller, rootKey: RootKeyGrant): boolean {
  try {
    checkGrant(caller, rootKey);
    return true;
  } catch (error) {
    if (error instanceof DomainError) return false;
    throw error;
  }
}

export function validateRootKeyName(name: string, path = "root_key.name") {
  checkLength(path, name.trim(), 128, 1);
}
