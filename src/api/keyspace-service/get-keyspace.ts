import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetKeyspaceRequest, GetKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { loadKeyspace, requireId } from "../requests.js";

export const getKeyspace =
  ({ store }: ServiceDeps) =>
  async (request: GetKeyspaceRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetKeyspaceResponseSchema>> => ({
    keyspace: keyspaceToProto(await loadKeyspace(store, callerIn(context), requireId("ks", request.id, "id"))),
  });
