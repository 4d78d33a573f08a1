import { checkEach, checkLength, checkPattern } from "./validate.js";

/** Roles and permissions: workspace entities that keys refer to by name. */

export interface PermissionRecord {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  createdAt: Date;
}

export interface RoleRecord {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;
}

export const PERMISSION = /^[A-Za-z0-9_.:*-]{1,128}$/;
export const PERMISSION_DESCRIPTION = "1 to 128 letters or digits or the characters dot underscore hyphen colon asterisk";
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/;
const ROLE_DESCRIPTION = "1 to 64 letters or digits or the characters dot underscore hyphen colon";
export const MAX_KEY_ROLES = 100;
export const MAX_PERMISSIONS = 1000;

export const checkPermissionNames = (field: string, names: readonly string[]) => checkEach(field, names, MAX_PERMISSIONS, PERMISSION, PERMISSION_DESCRIPTION);

export const checkRoleNames = (field: string, names: readonly string[]) => checkEach(field, names, MAX_KEY_ROLES, ROLE, ROLE_DESCRIPTION);

export function validatePermission(permission: Pick<PermissionRecord, "name" | "description">, path = "permission") {
  checkPattern(`${path}.name`, permission.name, PERMISSION, PERMISSION_DESCRIPTION);
  checkLength(`${path}.description`, permission.description, 512);
}

export function validateRole(role: Partial<Pick<RoleRecord, "name" | "description" | "permissions">>, path = "role") {
  if (role.name !== undefined) checkPattern(`${path}.name`, role.name, ROLE, ROLE_DESCRIPTION);
  if (role.description !== undefined) checkLength(`${path}.description`, role.description, 512);
  if (role.permissions !== undefined) checkPermissionNames(`${path}.permissions`, role.permissions);
}

export type GrantKind = "roles" | "permissions";
export type GrantChange = "add" | "remove" | "set";

/** A key's roles or direct permissions after an idempotent add, remove or set. */
export function applyGrantChange(current: readonly string[], change: GrantChange, names: readonly string[]): string[] {
  if (change === "set") return [...new Set(names)];
  if (change === "remove") return current.filter((name) => !names.includes(name));
  return [...new Set([...current, ...names])];
}
