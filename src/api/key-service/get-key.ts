import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetKeyRequest, GetKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { keyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../pipeline.js";
import { loadLiveKey, requireId } from "../requests.js";
import { revealedSecret } from "./recoverable.js";

/** With `decrypt`, the pipeline has checked key.decrypt and records the reading. */
export const getKey =
  ({ store, now, vault }: ServiceDeps) =>
  async (request: GetKeyRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetKeyResponseSchema>> => {
    const key = await loadLiveKey(store, callerIn(context), requireId("key", request.id, "id"));
    return { key: keyToProto(key, now(), request.decrypt ? revealedSecret(vault, key) : "") };
  };
