import type { ServiceImpl } from "@connectrpc/connect";
import type { VerifyService } from "../../../gen/latchkey/v1/verify_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { verifyKey } from "./verify-key.js";
import { verifyKeys } from "./verify-keys.js";

export const verifyService = (deps: ServiceDeps): ServiceImpl<typeof VerifyService> => ({
  verifyKey: guarded(deps, { permission: "key.verify" }, verifyKey(deps)),
  verifyKeys: guarded(deps, { permission: "key.verify" }, verifyKeys(deps)),
});
