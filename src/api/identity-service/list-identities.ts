import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListIdentitiesRequest, ListIdentitiesResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { identityToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { fetchPage, pageRequest } from "../pagination.js";

export const listIdentities =
  ({ store }: ServiceDeps) =>
  async (request: ListIdentitiesRequest, call: Call): Promise<MessageInitShape<typeof ListIdentitiesResponseSchema>> => {
    const { items, nextPageToken } = await fetchPage(pageRequest(request.pageSize, request.pageToken, "idt"), (page) =>
      store.identities.list({ workspaceId: call.caller.workspaceId }, page),
    );
    return { identities: items.map(identityToProto), nextPageToken };
  };
