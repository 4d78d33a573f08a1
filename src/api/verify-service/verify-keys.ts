import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { VerifyKeyResponseSchema, type VerifyKeysRequest, VerifyKeysResponseSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import { withRepeatedFieldEncoding } from "../encoding.js";
import type { VerifyResult } from "../../verify/verifier.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../pipeline.js";
import { verifyRequestFromProto, verifyResultToProto } from "./verify-request.js";

/** A malformed request fails the call, naming its index; each key gets its own verdict. At most 1000, by the proto's rule. */
export const verifyKeys =
  ({ verifier }: ServiceDeps) =>
  async (request: VerifyKeysRequest, context: HandlerContext): Promise<MessageInitShape<typeof VerifyKeysResponseSchema>> => {
    const caller = callerIn(context);
    const checked = request.requests.map((item, i) => verifyRequestFromProto(item, caller, `requests[${i}].`));
    const verdicts = checked.map((item) => verifier.verify(item));
    const settled = verdicts.some((verdict) => verdict instanceof Promise) ? await Promise.all(verdicts) : (verdicts as VerifyResult[]);
    const results = settled.map(verifyResultToProto);
    return withRepeatedFieldEncoding(create(VerifyKeysResponseSchema, { results }), 1, VerifyKeyResponseSchema, results);
  };
