import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListKeyspacesRequest, ListKeyspacesResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { listPage } from "../pagination.js";

/** A root key narrowed to keyspaces sees only those. */
export const listKeyspaces =
  ({ store }: ServiceDeps) =>
  async (request: ListKeyspacesRequest, call: Call): Promise<MessageInitShape<typeof ListKeyspacesResponseSchema>> => {
    const { workspaceId, keyspaceIds } = call.caller;
    const match = keyspaceIds ? { workspaceId, id: [...keyspaceIds] } : { workspaceId };
    const { items, nextPageToken } = await listPage(store.keyspaces, "ks", request, match, keyspaceToProto);
    return { keyspaces: items, nextPageToken };
  };
