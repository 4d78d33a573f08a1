import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeletePermissionRequest, DeletePermissionResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { type Audited, FailedAfterChanges } from "../../pipeline/procedures.js";
import { requireId } from "../requests.js";

/**
 * Takes the permission from roles and keys first and deletes it after: a failure in between
 * leaves a permission nobody holds, which deleting again finishes.
 */
export const deletePermission =
  ({ store, now }: ServiceDeps) =>
  async (request: DeletePermissionRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof DeletePermissionResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("perm", request.id, "id");
    const workspaceId = caller.workspaceId;
    const permission = await store.permissions.find({ id, workspaceId });
    if (!permission) throw notFound("permission", id);
    await store.removeGrantEverywhere(workspaceId, "permissions", permission.name, new Date(now()));
    const changes = [{ workspaceId }];
    if (!(await store.permissions.delete({ id, workspaceId }))) throw new FailedAfterChanges(notFound("permission", id), changes);
    return { response: {}, audit: { targets: [id], summary: { name: permission.name } }, changes };
  };
