import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListRootKeysRequest, ListRootKeysResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { mayManage } from "../../domain/access.js";
import { rootKeyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { fetchPage, pageRequest } from "../pagination.js";

/** Only the root keys the caller could have granted: a narrowed key does not learn of broader ones. */
export const listRootKeys =
  ({ store }: ServiceDeps) =>
  async (request: ListRootKeysRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListRootKeysResponseSchema>> => {
    const caller = callerIn(context);
    const page = pageRequest(request.pageSize, request.pageToken, "rk");
    const { items, nextPageToken } = await fetchPage(page, (next) => store.rootKeys.list({ workspaceId: caller.workspaceId }, next));
    return { rootKeys: items.filter((rootKey) => mayManage(caller, rootKey)).map(rootKeyToProto), nextPageToken };
  };
