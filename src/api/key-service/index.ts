import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyService } from "../../../gen/latchkey/v1/key_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { changeKeyGrants } from "./change-grants.js";
import { createKey } from "./create-key.js";
import { deleteKey } from "./delete-key.js";
import { getKey } from "./get-key.js";
import { listKeys } from "./list-keys.js";
import { revokeKey } from "./revoke-key.js";
import { updateKey } from "./update-key.js";

export const keyService = (deps: ServiceDeps): ServiceImpl<typeof KeyService> => ({
  createKey: guarded(deps, { permission: "key.create", action: "key.create" }, createKey(deps)),
  getKey: guarded(deps, { permission: "key.read" }, getKey(deps)),
  listKeys: guarded(deps, { permission: "key.read" }, listKeys(deps)),
  updateKey: guarded(deps, { permission: "key.update", action: "key.update" }, updateKey(deps)),
  revokeKey: guarded(deps, { permission: "key.delete", action: "key.revoke" }, revokeKey(deps)),
  deleteKey: guarded(deps, { permission: "key.delete", action: "key.delete" }, deleteKey(deps)),
  addKeyRoles: guarded(deps, { permission: "key.update", action: "key.add_roles" }, changeKeyGrants("roles", "add")(deps)),
  removeKeyRoles: guarded(deps, { permission: "key.update", action: "key.remove_roles" }, changeKeyGrants("roles", "remove")(deps)),
  setKeyRoles: guarded(deps, { permission: "key.update", action: "key.set_roles" }, changeKeyGrants("roles", "set")(deps)),
  addKeyPermissions: guarded(deps, { permission: "key.update", action: "key.add_permissions" }, changeKeyGrants("permissions", "add")(deps)),
  removeKeyPermissions: guarded(
    deps,
    { permission: "key.update", action: "key.remove_permissions" },
    changeKeyGrants("permissions", "remove")(deps),
  ),
  setKeyPermissions: guarded(deps, { permission: "key.update", action: "key.set_permissions" }, changeKeyGrants("permissions", "set")(deps)),
});
