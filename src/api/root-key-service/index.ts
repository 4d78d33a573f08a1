import type { RootKeyService } from "../../../gen/latchkey/v1/root_key_pb.js";
import type { ServiceDeps } from "../deps.js";
import { mutation, ownRootKeyRead, type Procedures, read } from "../../pipeline/procedures.js";
import { createRootKey } from "./create-root-key.js";
import { getCurrentRootKey } from "./get-current-root-key.js";
import { listRootKeys } from "./list-root-keys.js";
import { revokeRootKey } from "./revoke-root-key.js";
import { rotateRootKey } from "./rotate-root-key.js";

export const rootKeyService = (deps: ServiceDeps): Procedures<typeof RootKeyService> => ({
  createRootKey: mutation("root_key.manage", "root_key.create", createRootKey(deps)),
  listRootKeys: read("root_key.manage", listRootKeys(deps)),
  revokeRootKey: mutation("root_key.manage", "root_key.revoke", revokeRootKey(deps)),
  rotateRootKey: mutation("root_key.manage", "root_key.rotate", rotateRootKey(deps)),
  getCurrentRootKey: ownRootKeyRead(getCurrentRootKey(deps)),
});
