import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetKeyRequest, GetKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { keyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../pipeline.js";
import { loadLiveKey, requireId } from "../requests.js";

export const getKey =
  ({ store, now }: ServiceDeps) =>
  async (request: GetKeyRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetKeyResponseSchema>> => ({
    key: keyToProto(await loadLiveKey(store, callerIn(context), requireId("key", request.id, "id")), now()),
  });
