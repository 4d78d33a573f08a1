import type { IdentityService } from "../../../gen/latchkey/v1/identity_pb.js";
import type { ServiceDeps } from "../deps.js";
import { mutation, type Procedures, read } from "../../pipeline/procedures.js";
import { createIdentity } from "./create-identity.js";
import { deleteIdentity } from "./delete-identity.js";
import { getIdentity } from "./get-identity.js";
import { listIdentities } from "./list-identities.js";
import { updateIdentity } from "./update-identity.js";

export const identityService = (deps: ServiceDeps): Procedures<typeof IdentityService> => ({
  createIdentity: mutation("identity.create", "identity.create", createIdentity(deps)),
  getIdentity: read("identity.read", getIdentity(deps)),
  listIdentities: read("identity.read", listIdentities(deps)),
  updateIdentity: mutation("identity.update", "identity.update", updateIdentity(deps)),
  deleteIdentity: mutation("identity.delete", "identity.delete", deleteIdentity(deps)),
});
