import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListRootKeysRequest, ListRootKeysResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { rootKeyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { fetchPage, pageRequest } from "../pagination.js";

export const listRootKeys =
  ({ store }: ServiceDeps) =>
  async (request: ListRootKeysRequest, call: Call): Promise<MessageInitShape<typeof ListRootKeysResponseSchema>> => {
    const { items, nextPageToken } = await fetchPage(pageRequest(request.pageSize, request.pageToken, "rk"), (page) =>
      store.rootKeys.list({ workspaceId: call.caller.workspaceId }, page),
    );
    return { rootKeys: items.map(rootKeyToProto), nextPageToken };
  };
