import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { VerifyKeyRequest, VerifyKeyResponseSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { verifyRequestFromProto, verifyResultToProto } from "./verify-request.js";

/** Stays synchronous when the verifier can answer without storage, which saves a turn of the event loop per call. */
export const verifyKey =
  ({ verifier }: ServiceDeps) =>
  (
    request: VerifyKeyRequest,
    context: HandlerContext,
  ): MessageInitShape<typeof VerifyKeyResponseSchema> | Promise<MessageInitShape<typeof VerifyKeyResponseSchema>> => {
    const caller = callerIn(context);
    const result = verifier.verify(verifyRequestFromProto(request, caller));
    return result instanceof Promise ? result.then(verifyResultToProto) : verifyResultToProto(result);
  };
