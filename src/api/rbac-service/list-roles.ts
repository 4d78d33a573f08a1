import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListRolesRequest, ListRolesResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { roleToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { listPage } from "../pagination.js";

export const listRoles =
  ({ store }: ServiceDeps) =>
  async (request: ListRolesRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListRolesResponseSchema>> => {
    const caller = callerIn(context);
    const { items, nextPageToken } = await listPage(store.roles, "role", request, { workspaceId: caller.workspaceId }, roleToProto);
    return { roles: items, nextPageToken };
  };
