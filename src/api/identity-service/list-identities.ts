import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListIdentitiesRequest, ListIdentitiesResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { identityToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { listPage } from "../pagination.js";

export const listIdentities =
  ({ store }: ServiceDeps) =>
  async (request: ListIdentitiesRequest, call: Call): Promise<MessageInitShape<typeof ListIdentitiesResponseSchema>> => {
    const { items, nextPageToken } = await listPage(store.identities, "idt", request, { workspaceId: call.caller.workspaceId }, identityToProto);
    return { identities: items, nextPageToken };
  };
