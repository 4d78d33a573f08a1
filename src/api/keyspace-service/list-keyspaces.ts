import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListKeyspacesRequest, ListKeyspacesResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { listPage } from "../pagination.js";

/** A root key narrowed to keyspaces sees only those. */
export const listKeyspaces =
  ({ store }: ServiceDeps) =>
  async (request: ListKeyspacesRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListKeyspacesResponseSchema>> => {
    const caller = callerIn(context);
    const { workspaceId, keyspaceIds } = caller;
    const match = keyspaceIds ? { workspaceId, id: [...keyspaceIds] } : { workspaceId };
    const { items, nextPageToken } = await listPage(store.keyspaces, "ks", request, match, keyspaceToProto);
    return { keyspaces: items, nextPageToken };
  };
