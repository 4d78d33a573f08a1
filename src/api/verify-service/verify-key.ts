import type { MessageInitShape } from "@bufbuild/protobuf";
import type { VerifyKeyRequest, VerifyKeyResponseSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import type { ServiceDeps } from "../deps.js";
import { verifyRequestFromProto, verifyResultToProto } from "./verify-request.js";

export const verifyKey =
  ({ verifier }: ServiceDeps) =>
  async (request: VerifyKeyRequest): Promise<MessageInitShape<typeof VerifyKeyResponseSchema>> =>
    verifyResultToProto(await verifier.verify(verifyRequestFromProto(request)));
