import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DeleteRoleRequest, DeleteRoleResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { requireId } from "../requests.js";

/** The role is deleted first, so no key can be given it again, then taken from the keys that held it. */
export const deleteRole =
  ({ store, now, changes }: ServiceDeps) =>
  async (request: DeleteRoleRequest, call: Call): Promise<MessageInitShape<typeof DeleteRoleResponseSchema>> => {
    const id = requireId("role", request.id, "id");
    call.targets.push(id);
    const workspaceId = call.caller.workspaceId;
    const role = await store.roles.delete({ id, workspaceId });
    if (!role) throw notFound("role", id);
    call.summary = { name: role.name };
    await store.removeGrantEverywhere(workspaceId, "roles", role.name, new Date(now()));
    await changes.publish({ workspaceId, role: role.name });
    return {};
  };
