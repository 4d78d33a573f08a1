import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { CreatePermissionRequest, CreatePermissionResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { newId } from "../../domain/ids.js";
import { validatePermission } from "../../domain/rbac.js";
import { permissionToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { requireMessage } from "../requests.js";

export const createPermission =
  ({ store, now, random }: ServiceDeps) =>
  async (request: CreatePermissionRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof CreatePermissionResponseSchema>>> => {
    const caller = callerIn(context);
    const { name, description } = requireMessage(request.permission, "permission");
    validatePermission({ name, description });
    const at = now();
    const permission = { id: newId("perm", at, random), workspaceId: caller.workspaceId, name, description, createdAt: new Date(at) };
    await store.permissions.insert(permission);
    return { response: { permission: permissionToProto(permission) }, audit: { targets: [permission.id], summary: { name } } };
  };
