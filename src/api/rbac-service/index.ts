import type { ServiceImpl } from "@connectrpc/connect";
import type { RbacService } from "../../../gen/latchkey/v1/rbac_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { createPermission } from "./create-permission.js";
import { createRole } from "./create-role.js";
import { deletePermission } from "./delete-permission.js";
import { deleteRole } from "./delete-role.js";
import { listPermissions } from "./list-permissions.js";
import { listRoles } from "./list-roles.js";
import { updateRole } from "./update-role.js";

export const rbacService = (deps: ServiceDeps): ServiceImpl<typeof RbacService> => ({
  createPermission: guarded(deps, { permission: "rbac.manage", action: "permission.create" }, createPermission(deps)),
  listPermissions: guarded(deps, { permission: "rbac.read" }, listPermissions(deps)),
  deletePermission: guarded(deps, { permission: "rbac.manage", action: "permission.delete" }, deletePermission(deps)),
  createRole: guarded(deps, { permission: "rbac.manage", action: "role.create" }, createRole(deps)),
  listRoles: guarded(deps, { permission: "rbac.read" }, listRoles(deps)),
  updateRole: guarded(deps, { permission: "rbac.manage", action: "role.update" }, updateRole(deps)),
  deleteRole: guarded(deps, { permission: "rbac.manage", action: "role.delete" }, deleteRole(deps)),
});
