import type { RbacService } from "../../../gen/latchkey/v1/rbac_pb.js";
import type { ServiceDeps } from "../deps.js";
import { mutation, type Procedures, read } from "../../pipeline/procedures.js";
import { createPermission } from "./create-permission.js";
import { createRole } from "./create-role.js";
import { deletePermission } from "./delete-permission.js";
import { deleteRole } from "./delete-role.js";
import { listPermissions } from "./list-permissions.js";
import { listRoles } from "./list-roles.js";
import { updateRole } from "./update-role.js";

export const rbacService = (deps: ServiceDeps): Procedures<typeof RbacService> => ({
  createPermission: mutation("rbac.manage", "permission.create", createPermission(deps)),
  listPermissions: read("rbac.read", listPermissions(deps)),
  deletePermission: mutation("rbac.manage", "permission.delete", deletePermission(deps)),
  createRole: mutation("rbac.manage", "role.create", createRole(deps)),
  listRoles: read("rbac.read", listRoles(deps)),
  updateRole: mutation("rbac.manage", "role.update", updateRole(deps)),
  deleteRole: mutation("rbac.manage", "role.delete", deleteRole(deps)),
});
