import type { KeyService } from "../../../gen/latchkey/v1/key_pb.js";
import type { ServiceDeps } from "../deps.js";
import { mutation, type Procedures, read } from "../../pipeline/procedures.js";
import { changeKeyGrants } from "./change-grants.js";
import { createKey } from "./create-key.js";
import { deleteKey } from "./delete-key.js";
import { getKey } from "./get-key.js";
import { importKeys } from "./import-keys.js";
import { listKeys } from "./list-keys.js";
import { recoveredOnReplay } from "./recoverable.js";
import { rerollKey } from "./reroll-key.js";
import { revokeKey } from "./revoke-key.js";
import { updateCredits } from "./update-credits.js";
import { updateKey } from "./update-key.js";
import { whoAmI } from "./who-am-i.js";

/** Showing recoverable secrets needs key.decrypt as well, and every such read is audited. */
const decrypting = { when: (request: { decrypt: boolean }) => request.decrypt, permission: "key.decrypt", action: "key.decrypt" } as const;

/** So does a retried creation or reroll answered with its recoverable secret again. */
const decryptingOnReplay = (deps: ServiceDeps) => ({ permission: "key.decrypt", action: "key.decrypt", reveal: recoveredOnReplay(deps) }) as const;

export const keyService = (deps: ServiceDeps): Procedures<typeof KeyService> => ({
  createKey: mutation("key.create", "key.create", createKey(deps), decryptingOnReplay(deps)),
  getKey: read("key.read", getKey(deps), decrypting),
  listKeys: read("key.read", listKeys(deps), decrypting),
  updateKey: mutation("key.update", "key.update", updateKey(deps)),
  revokeKey: mutation("key.delete", "key.revoke", revokeKey(deps)),
  deleteKey: mutation("key.delete", "key.delete", deleteKey(deps)),
  addKeyRoles: mutation("key.update", "key.add_roles", changeKeyGrants("roles", "add")(deps)),
  removeKeyRoles: mutation("key.update", "key.remove_roles", changeKeyGrants("roles", "remove")(deps)),
  setKeyRoles: mutation("key.update", "key.set_roles", changeKeyGrants("roles", "set")(deps)),
  addKeyPermissions: mutation("key.update", "key.add_permissions", changeKeyGrants("permissions", "add")(deps)),
  removeKeyPermissions: mutation("key.update", "key.remove_permissions", changeKeyGrants("permissions", "remove")(deps)),
  setKeyPermissions: mutation("key.update", "key.set_permissions", changeKeyGrants("permissions", "set")(deps)),
  updateCredits: mutation("key.update", "key.update_credits", updateCredits(deps)),
  whoAmI: read("key.read", whoAmI(deps)),
  rerollKey: mutation("key.create", "key.reroll", rerollKey(deps), decryptingOnReplay(deps)),
  importKeys: mutation("key.create", "key.import", importKeys(deps)),
});
