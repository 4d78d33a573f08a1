import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyService } from "../../../gen/latchkey/v1/key_pb.js";
import type { ServiceDeps } from "../deps.js";
import { createKey } from "./create-key.js";
import { deleteKey } from "./delete-key.js";
import { getKey } from "./get-key.js";
import { listKeys } from "./list-keys.js";
import { revokeKey } from "./revoke-key.js";
import { updateKey } from "./update-key.js";

export const keyService = (deps: ServiceDeps): ServiceImpl<typeof KeyService> => ({
  createKey: createKey(deps),
  getKey: getKey(deps),
  listKeys: listKeys(deps),
  updateKey: updateKey(deps),
  revokeKey: revokeKey(deps),
  deleteKey: deleteKey(deps),
});
