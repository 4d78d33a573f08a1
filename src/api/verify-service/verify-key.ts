import type { MessageInitShape } from "@bufbuild/protobuf";
import type { VerifyKeyRequest, VerifyKeyResponseSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { verifyRequestFromProto, verifyResultToProto } from "./verify-request.js";

/** Stays synchronous when the verifier can answer without storage, which saves a turn of the event loop per call. */
export const verifyKey =
  ({ verifier }: ServiceDeps) =>
  (request: VerifyKeyRequest, call: Call): MessageInitShape<typeof VerifyKeyResponseSchema> | Promise<MessageInitShape<typeof VerifyKeyResponseSchema>> => {
    const result = verifier.verify(verifyRequestFromProto(request, call.caller));
    return result instanceof Promise ? result.then(verifyResultToProto) : verifyResultToProto(result);
  };
