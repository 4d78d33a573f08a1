import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListIdentitiesRequest, ListIdentitiesResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { identityToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { listPage } from "../pagination.js";

export const listIdentities =
  ({ store }: ServiceDeps) =>
  async (request: ListIdentitiesRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListIdentitiesResponseSchema>> => {
    const caller = callerIn(context);
    const { items, nextPageToken } = await listPage(store.identities, "idt", request, { workspaceId: caller.workspaceId }, identityToProto);
    return { identities: items, nextPageToken };
  };
