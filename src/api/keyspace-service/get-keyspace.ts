import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetKeyspaceRequest, GetKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { loadKeyspace, requireId } from "../requests.js";

export const getKeyspace =
  ({ store }: ServiceDeps) =>
  async (request: GetKeyspaceRequest): Promise<MessageInitShape<typeof GetKeyspaceResponseSchema>> => ({
    keyspace: keyspaceToProto(await loadKeyspace(store, requireId("ks", request.id, "id"))),
  });
