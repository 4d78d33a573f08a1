import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetKeyspaceRequest, GetKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { loadKeyspace, requireId } from "../requests.js";

export const getKeyspace =
  ({ store }: ServiceDeps) =>
  async (request: GetKeyspaceRequest, call: Call): Promise<MessageInitShape<typeof GetKeyspaceResponseSchema>> => ({
    keyspace: keyspaceToProto(await loadKeyspace(store, call, requireId("ks", request.id, "id"))),
  });
