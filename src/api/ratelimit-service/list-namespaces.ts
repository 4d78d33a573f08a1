import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListNamespacesRequest, ListNamespacesResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import type { ServiceDeps } from "../deps.js";
import { listPage } from "../pagination.js";
import { callerIn } from "../../pipeline/context.js";
import { namespaceToProto } from "./convert.js";

export const listNamespaces =
  ({ store }: ServiceDeps) =>
  async (request: ListNamespacesRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListNamespacesResponseSchema>> => {
    const caller = callerIn(context);
    const { items, nextPageToken } = await listPage(store.ratelimits.namespaces, "rlns", request, { workspaceId: caller.workspaceId }, namespaceToProto);
    return { namespaces: items, nextPageToken };
  };
