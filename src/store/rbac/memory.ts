import { applyGrantChange, type PermissionRecord, type RoleRecord } from "../../domain/rbac.js";
import type { MemoryKeyRecords } from "../keys/memory.js";
import { copy, MemoryTable } from "../tables/memory.js";
import type { RbacStore } from "./index.js";

export function memoryRbac(keys: MemoryKeyRecords): RbacStore {
  const roles = new MemoryTable<RoleRecord>("role", [["workspaceId", "name"]]);
  return {
    roles,
    permissions: new MemoryTable<PermissionRecord>("permission", [["workspaceId", "name"]]),

    async changeKeyGrants(id, kind, change, names, at) {
      const key = keys.byId.get(id);
      if (!key || key.deletedAt || key.revokedAt) return null;
      key[kind] = applyGrantChange(key[kind], change, names);
      key.updatedAt = new Date(at);
      return copy(key);
    },

    async removeGrantEverywhere(workspaceId, kind, name, at) {
      for (const key of keys.byId.values()) {
        if (key.workspaceId === workspaceId && key[kind].includes(name)) {
          key[kind] = applyGrantChange(key[kind], "remove", [name]);
          key.updatedAt = new Date(at);
        }
      }
      if (kind === "roles") return;
      for (const role of roles.all()) {
        if (role.workspaceId === workspaceId && role.permissions.includes(name)) {
          role.permissions = applyGrantChange(role.permissions, "remove", [name]);
          role.updatedAt = new Date(at);
        }
      }
    },
  };
}
