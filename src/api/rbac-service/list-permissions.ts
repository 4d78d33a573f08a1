import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListPermissionsRequest, ListPermissionsResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { permissionToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { listPage } from "../pagination.js";

export const listPermissions =
  ({ store }: ServiceDeps) =>
  async (request: ListPermissionsRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListPermissionsResponseSchema>> => {
    const caller = callerIn(context);
    const { items, nextPageToken } = await listPage(store.permissions, "perm", request, { workspaceId: caller.workspaceId }, permissionToProto);
    return { permissions: items, nextPageToken };
  };
