import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeleteRoleRequest, DeleteRoleResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { requireId } from "../requests.js";

/** The role is deleted first, so no key can be given it again, then taken from the keys that held it. */
export const deleteRole =
  ({ store, now }: ServiceDeps) =>
  async (request: DeleteRoleRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof DeleteRoleResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("role", request.id, "id");
    const workspaceId = caller.workspaceId;
    const role = await store.roles.delete({ id, workspaceId });
    if (!role) throw notFound("role", id);
    await store.removeGrantEverywhere(workspaceId, "roles", role.name, new Date(now()));
    return { response: {}, audit: { targets: [id], summary: { name: role.name } }, changes: [{ workspaceId, role: role.name }] };
  };
