import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { CreateRoleRequest, CreateRoleResponseSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { alreadyExists } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { validateRole } from "../../domain/rbac.js";
import { unique } from "../../domain/validate.js";
import { roleToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { registerPermissions } from "../references.js";
import { requireMessage } from "../requests.js";

export const createRole =
  ({ store, now, random }: ServiceDeps) =>
  async (request: CreateRoleRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof CreateRoleResponseSchema>>> => {
    const caller = callerIn(context);
    const input = requireMessage(request.role, "role");
    validateRole(input);
    const at = now();
    const workspaceId = caller.workspaceId;
    const role = {
      id: newId("role", at, random),
      workspaceId,
      name: input.name,
      description: input.description,
      permissions: unique(input.permissions),
      createdAt: new Date(at),
      updatedAt: new Date(at),
    };
    // A name already taken must not register its would-be permissions first; the insert still decides a race.
    if (await store.roles.find({ workspaceId, name: role.name })) throw alreadyExists("this role already exists");
    await registerPermissions(store, workspaceId, role.permissions, at, random);
    await store.roles.insert(role);
    return {
      response: { role: roleToProto(role) },
      audit: { targets: [role.id], summary: { name: role.name, permissions: role.permissions } },
    };
  };
