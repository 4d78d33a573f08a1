import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListPermissionsRequest, ListPermissionsResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { permissionToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { fetchPage, pageRequest } from "../pagination.js";

export const listPermissions =
  ({ store }: ServiceDeps) =>
  async (request: ListPermissionsRequest, call: Call): Promise<MessageInitShape<typeof ListPermissionsResponseSchema>> => {
    const { items, nextPageToken } = await fetchPage(pageRequest(request.pageSize, request.pageToken, "perm"), (page) =>
      store.permissions.list({ workspaceId: call.caller.workspaceId }, page),
    );
    return { permissions: items.map(permissionToProto), nextPageToken };
  };
