import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreatePermissionRequest, CreatePermissionResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { newId } from "../../domain/ids.js";
import { validatePermission } from "../../domain/rbac.js";
import { permissionToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { requireMessage } from "../requests.js";

export const createPermission =
  ({ store, now, random }: ServiceDeps) =>
  async (request: CreatePermissionRequest, call: Call): Promise<MessageInitShape<typeof CreatePermissionResponseSchema>> => {
    const { name, description } = requireMessage(request.permission, "permission");
    validatePermission({ name, description });
    const at = now();
    const permission = { id: newId("perm", at, random), workspaceId: call.caller.workspaceId, name, description, createdAt: new Date(at) };
    call.targets.push(permission.id);
    call.summary = { name };
    await store.permissions.insert(permission);
    return { permission: permissionToProto(permission) };
  };
