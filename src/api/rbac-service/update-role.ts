import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { UpdateRoleRequest, UpdateRoleResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { notFound } from "../../domain/errors.js";
import { validateRole } from "../../domain/rbac.js";
import { unique } from "../../domain/validate.js";
import { roleToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { registerPermissions } from "../references.js";
import { maskedFields, pick, requireId, requireMessage } from "../requests.js";

/** Every key holding the role sees its new permissions on its next verification, on every instance within a second. */
export const updateRole =
  ({ store, now, random }: ServiceDeps) =>
  async (request: UpdateRoleRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof UpdateRoleResponseSchema>>> => {
    const caller = callerIn(context);
    const input = requireMessage(request.role, "role");
    const id = requireId("role", input.id, "role.id");
    const fields = maskedFields(request.updateMask, { description: "description", permissions: "permissions" });
    const changes = pick({ description: input.description, permissions: unique(input.permissions) }, fields);
    validateRole(changes);
    const at = now();
    const workspaceId = caller.workspaceId;
    // A missing role must not register its would-be permissions first.
    if (!(await store.roles.find({ id, workspaceId }))) throw notFound("role", id);
    if (changes.permissions) await registerPermissions(store, workspaceId, changes.permissions, at, random);
    const updated = await store.roles.update({ id, workspaceId }, { ...changes, updatedAt: new Date(at) });
    if (!updated) throw notFound("role", id);
    return { response: { role: roleToProto(updated) }, audit: { targets: [id], summary: { ...changes } }, changes: [{ workspaceId, role: updated.name }] };
  };
