import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListRootKeysRequest, ListRootKeysResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { rootKeyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../pipeline.js";
import { listPage } from "../pagination.js";

export const listRootKeys =
  ({ store }: ServiceDeps) =>
  async (request: ListRootKeysRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListRootKeysResponseSchema>> => {
    const caller = callerIn(context);
    const { items, nextPageToken } = await listPage(store.rootKeys, "rk", request, { workspaceId: caller.workspaceId }, rootKeyToProto);
    return { rootKeys: items, nextPageToken };
  };
