import type { KeyRecord } from "../../domain/key.js";
import type { GrantChange, GrantKind, PermissionRecord, RoleRecord } from "../../domain/rbac.js";
import type { RecordTable } from "../tables/index.js";

/** Roles, permissions, and the grants of them that keys hold. */
export interface RbacStore {
  /** Unique: workspace and name. */
  readonly roles: RecordTable<RoleRecord>;
  /** Unique: workspace and name. */
  readonly permissions: RecordTable<PermissionRecord>;
  /** Adds, removes or sets a live, unrevoked key's roles or direct permissions, atomically; null when there is no such key. */
  changeKeyGrants(id: string, kind: GrantKind, change: GrantChange, names: readonly string[], at: Date): Promise<KeyRecord | null>;
  /** Takes a role or permission from every key of the workspace, and a permission from every role. */
  removeGrantEverywhere(workspaceId: string, kind: GrantKind, name: string, at: Date): Promise<void>;
}
