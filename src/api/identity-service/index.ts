import type { ServiceImpl } from "@connectrpc/connect";
import type { IdentityService } from "../../../gen/latchkey/v1/identity_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { createIdentity } from "./create-identity.js";
import { deleteIdentity } from "./delete-identity.js";
import { getIdentity } from "./get-identity.js";
import { listIdentities } from "./list-identities.js";
import { updateIdentity } from "./update-identity.js";

export const identityService = (deps: ServiceDeps): ServiceImpl<typeof IdentityService> => ({
  createIdentity: guarded(deps, { permission: "identity.create", action: "identity.create" }, createIdentity(deps)),
  getIdentity: guarded(deps, { permission: "identity.read" }, getIdentity(deps)),
  listIdentities: guarded(deps, { permission: "identity.read" }, listIdentities(deps)),
  updateIdentity: guarded(deps, { permission: "identity.update", action: "identity.update" }, updateIdentity(deps)),
  deleteIdentity: guarded(deps, { permission: "identity.delete", action: "identity.delete" }, deleteIdentity(deps)),
});
