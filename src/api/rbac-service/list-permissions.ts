import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListPermissionsRequest, ListPermissionsResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { permissionToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { listPage } from "../pagination.js";

export const listPermissions =
  ({ store }: ServiceDeps) =>
  async (request: ListPermissionsRequest, call: Call): Promise<MessageInitShape<typeof ListPermissionsResponseSchema>> => {
    const { items, nextPageToken } = await listPage(store.permissions, "perm", request, { workspaceId: call.caller.workspaceId }, permissionToProto);
    return { permissions: items, nextPageToken };
  };
