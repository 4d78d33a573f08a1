import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListRolesRequest, ListRolesResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { roleToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { listPage } from "../pagination.js";

export const listRoles =
  ({ store }: ServiceDeps) =>
  async (request: ListRolesRequest, call: Call): Promise<MessageInitShape<typeof ListRolesResponseSchema>> => {
    const { items, nextPageToken } = await listPage(store.roles, "role", request, { workspaceId: call.caller.workspaceId }, roleToProto);
    return { roles: items, nextPageToken };
  };
