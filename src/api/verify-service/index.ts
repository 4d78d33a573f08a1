import type { VerifyService } from "../../../gen/latchkey/v1/verify_pb.js";
import type { ServiceDeps } from "../deps.js";
import { type Procedures, read } from "../../pipeline/procedures.js";
import { verifyKey } from "./verify-key.js";
import { verifyKeys } from "./verify-keys.js";

export const verifyService = (deps: ServiceDeps): Procedures<typeof VerifyService> => ({
  verifyKey: read("key.verify", verifyKey(deps)),
  verifyKeys: read("key.verify", verifyKeys(deps)),
});
