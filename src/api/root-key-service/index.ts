import type { ServiceImpl } from "@connectrpc/connect";
import type { RootKeyService } from "../../../gen/latchkey/v1/root_key_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { createRootKey } from "./create-root-key.js";
import { listRootKeys } from "./list-root-keys.js";
import { revokeRootKey } from "./revoke-root-key.js";
import { rotateRootKey } from "./rotate-root-key.js";

export const rootKeyService = (deps: ServiceDeps): ServiceImpl<typeof RootKeyService> => ({
  createRootKey: guarded(deps, { permission: "root_key.manage", action: "root_key.create" }, createRootKey(deps)),
  listRootKeys: guarded(deps, { permission: "root_key.manage" }, listRootKeys(deps)),
  revokeRootKey: guarded(deps, { permission: "root_key.manage", action: "root_key.revoke" }, revokeRootKey(deps)),
  rotateRootKey: guarded(deps, { permission: "root_key.manage", action: "root_key.rotate" }, rotateRootKey(deps)),
});
