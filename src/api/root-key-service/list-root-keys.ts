import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListRootKeysRequest, ListRootKeysResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { rootKeyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { listPage } from "../pagination.js";

export const listRootKeys =
  ({ store }: ServiceDeps) =>
  async (request: ListRootKeysRequest, call: Call): Promise<MessageInitShape<typeof ListRootKeysResponseSchema>> => {
    const { items, nextPageToken } = await listPage(store.rootKeys, "rk", request, { workspaceId: call.caller.workspaceId }, rootKeyToProto);
    return { rootKeys: items, nextPageToken };
  };
